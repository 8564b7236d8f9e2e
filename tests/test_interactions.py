"""Interaction views: sweep tables from the store (cells, seed-noise marks, slices, axes, curves) and their figures."""

import math

import numpy as np
import pandas as pd
import pytest
from conftest import tiny_config

from workbench.interactions import (
    axis_values,
    cell_stats,
    default_heatmap_axes,
    encode_axis,
    learning_curves,
    noise_pairs,
    slice_stats,
    sweep_frame,
    swept_fields,
)
from workbench.store import RunStore
from workbench.viz import interaction_heatmap_figure, parallel_figure, slice_figure, sweep_curves_figure

# (temperature, alpha, w_bits) -> test accuracy of seeds 0 and 1
ACCURACY = {
    (1.0, 0.5, "32"): (0.80, 0.82),
    (4.0, 0.5, "32"): (0.90, 0.94),
    (1.0, 0.9, "32"): (0.70, 0.74),
    (4.0, 0.9, "32"): (0.91, 0.93),
    (1.0, 0.5, "ternary"): (0.60, 0.61),
    (4.0, 0.5, "ternary"): (0.70, 0.71),
    (1.0, 0.9, "ternary"): (0.50, 0.52),
    (4.0, 0.9, "ternary"): (0.65, 0.66),
}


@pytest.fixture
def sweep_store(tmp_path):
    """A store holding a finished 2 × 2 × 2 sweep (two seeds) with known accuracies, one failed run and
    one run of another group; epoch curves for each run, the last one stopped early after epoch 1."""
    store = RunStore(tmp_path / "runs")
    for (temperature, alpha, bits), accuracies in ACCURACY.items():
        for seed, accuracy in enumerate(accuracies):
            config = tiny_config(temperature=temperature, alpha=alpha, w_bits=bits, seed=seed, epochs=2)
            run_id = store.create_run(config.to_dict(), group_id="sweep-x")
            early = (temperature, alpha, bits, seed) == (1.0, 0.9, "ternary", 1)
            epochs = [1] if early else [1, 2]
            store.log_metrics(run_id, [(e * 10, e, "epoch", "test_acc", accuracy - 0.1 * (2 - e)) for e in epochs])
            store.finish(
                run_id,
                "done",
                final_metrics={
                    "test_acc": accuracy,
                    "epochs_done": float(len(epochs)),
                    **({"early_stopped": 1.0} if early else {}),
                },
            )
    failed = store.create_run(tiny_config(temperature=4.0, alpha=0.5, seed=2).to_dict(), group_id="sweep-x")
    store.finish(failed, "failed", message="boom")
    store.create_run(tiny_config(temperature=9.0).to_dict(), group_id="other")
    return store


def test_swept_fields_are_the_config_fields_that_differ_seed_aside(sweep_store):
    records = sweep_store.list_runs(group_id="sweep-x")
    assert swept_fields(records) == ["temperature", "alpha", "w_bits"]
    assert default_heatmap_axes(swept_fields(records)) == ("temperature", "alpha", "w_bits")
    assert default_heatmap_axes(["lr"]) is None


def test_cells_hold_mean_std_and_count_over_seeds_of_done_runs(sweep_store):
    frame = sweep_frame(sweep_store.list_runs(group_id="sweep-x"))
    assert len(frame) == 17 and frame["test_acc"].isna().sum() == 1  # the failed run has no accuracy
    stats = cell_stats(frame, "temperature", "alpha", "w_bits")
    assert len(stats) == 8 and set(stats["n"]) == {2}
    for cell in stats.itertuples():
        values = ACCURACY[(cell.x, cell.y, cell.panel)]
        assert cell.mean == pytest.approx(np.mean(values)) and cell.std == pytest.approx(np.std(values, ddof=1))


def test_neighbours_closer_than_the_seed_noise_are_marked(sweep_store):
    frame = sweep_frame(sweep_store.list_runs(group_id="sweep-x"))
    stats = cell_stats(frame, "temperature", "alpha", "w_bits")
    pairs = noise_pairs(stats, axis_values(frame, "temperature"), axis_values(frame, "alpha"))
    # only (T=4, α=0.5) vs (T=4, α=0.9) at 32 bits: means 0.92 and 0.92, stds 0.028 and 0.014
    assert len(pairs) == 1
    pair = pairs.iloc[0]
    assert (pair.panel, pair.x1, pair.y1, pair.x2, pair.y2) == ("32", 4.0, 0.5, 4.0, 0.9)
    assert pair.noise == pytest.approx(math.sqrt((np.var([0.90, 0.94], ddof=1) + np.var([0.91, 0.93], ddof=1)) / 2))


def test_heatmap_figure_has_one_panel_per_bit_width_with_the_store_values(sweep_store):
    frame = sweep_frame(sweep_store.list_runs(group_id="sweep-x"))
    x_order, y_order = axis_values(frame, "temperature"), axis_values(frame, "alpha")
    stats = cell_stats(frame, "temperature", "alpha", "w_bits")
    figure = interaction_heatmap_figure(
        stats, noise_pairs(stats, x_order, y_order), "temperature", "alpha", "w_bits", x_order, y_order
    )
    heatmaps = [trace for trace in figure.data if trace.type == "heatmap"]
    assert [trace.name for trace in heatmaps] == ["32", "ternary"]
    for trace in heatmaps:
        for i, alpha in enumerate(y_order):
            for j, temperature in enumerate(x_order):
                values = ACCURACY[(temperature, alpha, trace.name)]
                assert trace.z[i][j] == pytest.approx(np.mean(values))
                assert trace.text[i][j].startswith(f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}")
    marks = [trace for trace in figure.data if trace.type == "scatter"]
    assert len(marks) == 1 and list(marks[0].x) == [1.0] and list(marks[0].y) == [0.5]
    assert {a.text for a in figure.layout.annotations} == {"w_bits = 32", "w_bits = ternary"}


def test_slices_marginalise_the_other_fields(sweep_store):
    frame = sweep_frame(sweep_store.list_runs(group_id="sweep-x"))
    stats = slice_stats(frame, "w_bits")
    assert list(stats["value"]) == ["32", "ternary"] and list(stats["n"]) == [8, 8]
    assert stats["mean"].iloc[1] == pytest.approx(
        np.mean([v for k, pair in ACCURACY.items() if k[2] == "ternary" for v in pair])
    )
    figure = slice_figure(frame, ["temperature", "alpha", "w_bits"])
    means = [trace for trace in figure.data if trace.mode == "lines+markers"]
    assert len(means) == 3 and list(means[2].y) == pytest.approx(list(stats["mean"]))


def test_parallel_axes_encode_categorical_values_with_tick_labels(sweep_store):
    assert encode_axis(["ternary", "32", "ternary"]) == ([1.0, 0.0, 1.0], [0.0, 1.0], ["32", "ternary"])
    assert encode_axis([4.0, 1.0]) == ([4.0, 1.0], [1.0, 4.0], ["1.0", "4.0"])
    frame = sweep_frame(sweep_store.list_runs(group_id="sweep-x"))
    figure = parallel_figure(frame, ["temperature", "alpha", "w_bits"])
    dimensions = figure.data[0].dimensions
    assert [d.label for d in dimensions] == ["temperature", "alpha", "w_bits", "test acc"]
    assert len(dimensions[3].values) == 16 and list(dimensions[2].ticktext) == ["32", "ternary"]


def test_learning_curves_mark_the_run_stopped_early(sweep_store):
    records = sweep_store.list_runs(group_id="sweep-x")
    frame = sweep_frame(records)
    curves = learning_curves(sweep_store.metrics_frame([r.id for r in records]), frame)
    assert len(curves) == 15 * 2 + 1 and curves["early_stopped"].sum() == 1
    figure = sweep_curves_figure(curves, colour_by="w_bits")
    stopped = [trace for trace in figure.data if trace.name == "stopped early"]
    assert len(stopped) == 1 and list(stopped[0].x) == [1]
    assert sum(trace.mode == "lines" for trace in figure.data) == 16


def test_empty_sweep_gives_empty_tables():
    frame = sweep_frame([])
    assert frame.empty and cell_stats(frame, "a", "b").empty
    assert learning_curves(pd.DataFrame(columns=["run_id", "step", "epoch", "scope", "name", "value"]), frame).empty
