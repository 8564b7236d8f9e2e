"""The rendered glyph dataset: shapes, classes, value range, determinism, normalisation and preview."""

import pytest
import torch

from workbench.errors import ConfigError
from workbench.glyphs import glyph_class_names, glyph_dataset, glyph_preview, render_glyphs


def test_rendered_glyphs_have_the_requested_shape_classes_and_range():
    x, y = render_glyphs(num_classes=10, image_size=28, channels=1, per_class=3, seed=0)
    assert x.shape == (30, 1, 28, 28) and x.dtype == torch.float32
    assert y.tolist() == [k for k in range(10) for _ in range(3)]
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert (x.amax(dim=(1, 2, 3)) > 0.5).all()  # every image has a visible glyph


def test_colour_glyphs_for_a_hundred_classes():
    x, y = render_glyphs(num_classes=100, image_size=32, channels=3, per_class=1, seed=0)
    assert x.shape == (100, 3, 32, 32) and y.unique().numel() == 100
    assert len(set(glyph_class_names(100))) == 100


def test_same_seed_same_images_other_seed_other_images():
    first, _ = render_glyphs(10, 8, 1, 2, seed=3)
    again, _ = render_glyphs(10, 8, 1, 2, seed=3)
    other, _ = render_glyphs(10, 8, 1, 2, seed=4)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_classes_differ_more_between_than_within():
    x, y = render_glyphs(4, 28, 1, 20, seed=0)
    means = torch.stack([x[y == k].mean(0) for k in range(4)])
    within = torch.stack([(x[y == k] - means[k]).pow(2).mean() for k in range(4)]).mean()
    between = (means.unsqueeze(0) - means.unsqueeze(1)).pow(2).mean(dim=(2, 3, 4)).sum() / 12
    assert between > 0.2 * within


def test_glyph_dataset_is_shaped_like_its_target_and_normalised():
    data = glyph_dataset("fashion-mnist", per_class=20, test_per_class=5, seed=0)
    assert data.info.name == "glyphs-fashion-mnist" and data.info.num_classes == 10
    assert data.train.x.shape == (200, 1, 28, 28) and data.test.x.shape == (50, 1, 28, 28)
    assert data.train.x.mean().item() == pytest.approx(0.0, abs=1e-4)
    assert data.train.x.std().item() == pytest.approx(1.0, abs=1e-3)
    assert not torch.equal(data.train.x[:50], data.test.x)


def test_preview_cycles_through_the_classes_in_display_range():
    images = glyph_preview("digits", n=12)
    assert images.shape == (12, 1, 8, 8) and images.min() >= 0 and images.max() <= 1
    x, _ = render_glyphs(10, 8, 1, 2, seed=0)
    assert torch.equal(images[0], x[0]) and torch.equal(images[1], x[2]) and torch.equal(images[10], x[1])


def test_class_count_out_of_range_is_one_clear_error():
    with pytest.raises(ConfigError, match="num_classes"):
        glyph_class_names(1)
