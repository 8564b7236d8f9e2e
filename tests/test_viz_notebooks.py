"""viz's tutorial figures: T² gradient scaling, image grids and sample evolution, attention maps, accuracy
versus size, and the temperature × α heatmap with seed noise."""

import numpy as np
import pandas as pd
import pytest
import torch

from workbench.models import create_model
from workbench.previews import attention_maps
from workbench.viz import (
    SoftTargetPreview,
    accuracy_size_figure,
    attention_maps_figure,
    grid_heatmap_figure,
    image_grid_figure,
    live_metric_figure,
    run_trace,
    sample_evolution_figure,
    soft_gradient_scale,
    temperature_effects_figure,
    tile_images,
)


def preview():
    """Two images with confident, hand-made teacher logits over four classes."""
    logits = np.array([[6.0, 2.0, 0.0, -1.0], [-2.0, 5.0, 3.0, 0.0]])
    return SoftTargetPreview(np.zeros((2, 8, 8)), [0, 1], logits, ("a", "b", "c", "d"), "toy")


def test_t_squared_keeps_the_soft_gradient_on_one_scale_while_the_plain_one_falls_like_one_over_t_squared():
    logits = preview().logits
    plain_ratio = soft_gradient_scale(logits, 20.0, False) / soft_gradient_scale(logits, 40.0, False)
    scaled_ratio = soft_gradient_scale(logits, 20.0, True) / soft_gradient_scale(logits, 40.0, True)
    assert plain_ratio == pytest.approx(4.0, rel=0.05)
    assert scaled_ratio == pytest.approx(1.0, rel=0.05)


def test_temperature_effects_show_entropy_and_wrong_class_mass_growing_with_t():
    figure = temperature_effects_figure(preview(), [1, 2, 4, 8])
    entropy_trace, wrong_trace = figure.data[0], figure.data[1]
    assert list(entropy_trace.x) == [1, 2, 4, 8]
    assert np.all(np.diff(entropy_trace.y) > 0) and np.all(np.diff(wrong_trace.y) > 0)
    assert {trace.name for trace in figure.data[2:]} == {"KL alone", "T² · KL"}


def test_tile_images_places_each_image_in_reading_order_rescaled_to_unit_range():
    batch = np.arange(5 * 1 * 2 * 3, dtype=float).reshape(5, 1, 2, 3)
    grid = tile_images(batch, columns=2)
    assert grid.shape == (3 * 2, 2 * 3)
    assert grid.min() == 0.0 and grid[4:6, 0:3].max() == 1.0  # the last image holds the batch maximum
    expected_second = (batch[1, 0] - batch.min()) / (batch.max() - batch.min())
    assert np.allclose(grid[0:2, 3:6], expected_second)
    assert np.all(grid[4:6, 3:6] == 1.0)  # the empty slot is blank
    colour = tile_images(np.random.default_rng(0).normal(size=(3, 3, 4, 4)), columns=3)
    assert colour.shape == (4, 12, 3)


def test_image_grid_and_sample_evolution_draw_one_grid_per_epoch():
    batch = np.random.default_rng(1).normal(size=(6, 1, 8, 8))
    assert image_grid_figure(batch, "samples").data[0].z.shape == (8, 6 * 8)  # fewer images than columns
    assert image_grid_figure(batch, "samples", columns=4).data[0].z.shape == (2 * 8, 4 * 8)
    evolution = sample_evolution_figure({3: batch, 1: batch * 2}, "by epoch", columns=3)
    assert len(evolution.data) == 2
    assert [a.text for a in evolution.layout.annotations] == ["epoch 1", "epoch 3"]


def test_attention_maps_are_per_image_and_peak_at_one():
    torch.manual_seed(0)
    model = create_model("lenet5_half", 10, 1, 8)
    maps = attention_maps(model, torch.randn(3, 1, 8, 8))
    assert maps.ndim == 3 and maps.shape[0] == 3
    assert np.allclose(maps.reshape(3, -1).max(axis=1), 1.0) and maps.min() >= 0.0


def test_attention_maps_figure_has_an_input_row_and_one_row_per_model():
    images = np.zeros((4, 8, 8))
    maps = {"teacher": np.ones((4, 2, 2)), "student": np.ones((4, 2, 2))}
    figure = attention_maps_figure(images, maps)
    assert len(figure.data) == 4 * 3
    assert [a.text for a in figure.layout.annotations] == ["input", "teacher", "student"]


def test_accuracy_size_figure_marks_and_joins_the_pareto_front():
    points = pd.DataFrame(
        {"label": ["big", "small", "dominated"], "size_kb": [100.0, 10.0, 50.0], "test_acc": [0.95, 0.90, 0.85]}
    )
    runs, front = accuracy_size_figure(points).data
    assert runs.marker.color[2] != runs.marker.color[0] == runs.marker.color[1]
    assert list(front.x) == [10.0, 100.0]


def test_grid_heatmap_gives_the_seed_mean_and_std_of_each_cell():
    results = pd.DataFrame(
        {
            "temperature": [1, 1, 4, 4, 1, 1, 4, 4],
            "alpha": [0.5, 0.5, 0.5, 0.5, 0.9, 0.9, 0.9, 0.9],
            "seed": [0, 1] * 4,
            "test_acc": [0.8, 0.9, 0.7, 0.7, 0.6, 0.6, 0.95, 0.85],
        }
    )
    mean, std = grid_heatmap_figure(results, "temperature", "alpha").data
    assert list(mean.y) == ["1", "4"] and list(mean.x) == ["0.5", "0.9"]
    assert np.allclose(mean.z, [[0.85, 0.6], [0.7, 0.9]])
    assert np.allclose(std.z, [[np.std([0.8, 0.9], ddof=1), 0.0], [0.0, np.std([0.95, 0.85], ddof=1)]])
    assert mean.text[0][0] == "0.850<br>± 0.071"


def test_live_figure_starts_empty_and_run_traces_take_the_palette_in_turn():
    assert len(live_metric_figure("test_acc").data) == 0
    first, second = run_trace("a", 0), run_trace("b", 1)
    assert first.name == "a" and len(first.x) == 0 and first.line.color != second.line.color
