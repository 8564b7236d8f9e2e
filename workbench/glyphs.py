"""A synthesised simple dataset for the lightweight teacher (LW-KD): rendered glyphs.

Each class is one glyph (digits first, then capital letters, drawn shapes, small letters, symbols, then
two-character pairs), drawn with PIL at a random size and stroke width, moved by a random affine
transform (rotation, scale, shear, shift) and overlaid with Gaussian noise. The dataset has as many
classes as the target dataset, at its image size and channels, and is a pure function of the seed."""

from __future__ import annotations

import itertools
import string
from dataclasses import replace
from functools import lru_cache

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from .data import DatasetInfo, LoadedDataset, Split, dataset_info
from .errors import ConfigError

CANVAS = 64
SHAPES = ("circle", "square", "triangle", "diamond", "cross", "plus", "ring", "star")
SINGLE_GLYPHS: tuple[str, ...] = (
    *string.digits,
    *string.ascii_uppercase,
    *SHAPES,
    *"abdefghijmnqrty",
    *"#$%&@?!+=<>*^~/{}[]",
)
MAX_CLASSES = 1000


def glyph_class_names(num_classes: int) -> tuple[str, ...]:
    """The glyph drawn for each class: single glyphs first, then two-character pairs of letters and digits."""
    if not 2 <= num_classes <= MAX_CLASSES:
        raise ConfigError(
            "num_classes", f"{num_classes} is out of range; glyph datasets have 2 to {MAX_CLASSES} classes"
        )
    pairs = ("".join(pair) for pair in itertools.product(string.ascii_uppercase + string.digits, repeat=2))
    return tuple(itertools.islice(itertools.chain(SINGLE_GLYPHS, pairs), num_classes))


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's built-in font at `size` pixels (the same on every machine with the same Pillow)."""
    return ImageFont.load_default(size=size)


def _draw_shape(draw: ImageDraw.ImageDraw, shape: str, half: float, width: int) -> None:
    """Draw one of SHAPES centred on the canvas, `half` pixels from centre to edge."""
    c = CANVAS / 2
    box = (c - half, c - half, c + half, c + half)
    if shape == "circle":
        draw.ellipse(box, fill=255)
    elif shape == "ring":
        draw.ellipse(box, outline=255, width=max(3, 2 * width + 3))
    elif shape == "square":
        draw.rectangle(box, fill=255)
    elif shape == "triangle":
        draw.polygon([(c, c - half), (c + half, c + half), (c - half, c + half)], fill=255)
    elif shape == "diamond":
        draw.polygon([(c, c - half), (c + half, c), (c, c + half), (c - half, c)], fill=255)
    elif shape in ("cross", "plus"):
        bar = max(3, 2 * width + 4)
        ends = (
            [((c - half, c - half), (c + half, c + half)), ((c - half, c + half), (c + half, c - half))]
            if shape == "cross"
            else [((c - half, c), (c + half, c)), ((c, c - half), (c, c + half))]
        )
        for start, end in ends:
            draw.line([start, end], fill=255, width=bar)
    else:  # star
        points = [
            (
                c + (half if k % 2 == 0 else half * 0.45) * np.sin(k * np.pi / 5),
                c - (half if k % 2 == 0 else half * 0.45) * np.cos(k * np.pi / 5),
            )
            for k in range(10)
        ]
        draw.polygon(points, fill=255)


def _affine(rng: np.random.Generator) -> tuple[float, ...]:
    """PIL's output-to-input coefficients of a random rotation (±15°), scale (0.8–1.1), shear (±0.2) and
    shift (±4 px), all about the canvas centre."""
    angle = np.deg2rad(rng.uniform(-15, 15))
    scale, shear = rng.uniform(0.8, 1.1), rng.uniform(-0.2, 0.2)
    shift = rng.uniform(-4, 4, size=2)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    forward = rotation @ np.array([[1.0, shear], [0.0, 1.0]]) * scale
    inverse = np.linalg.inv(forward)
    centre = np.full(2, CANVAS / 2)
    offset = centre - inverse @ (centre + shift)
    return (inverse[0, 0], inverse[0, 1], offset[0], inverse[1, 0], inverse[1, 1], offset[1])


def _render_one(glyph: str, image_size: int, channels: int, rng: np.random.Generator) -> np.ndarray:
    """One jittered, noisy glyph as a float32 (channels, size, size) array in [0, 1]."""
    canvas = Image.new("L", (CANVAS, CANVAS), 0)
    draw = ImageDraw.Draw(canvas)
    stroke = int(rng.integers(0, 4))
    if glyph in SHAPES:
        _draw_shape(draw, glyph, rng.uniform(18, 27), stroke)
    else:
        size = int(rng.integers(46, 62)) if len(glyph) == 1 else int(rng.integers(28, 36))
        draw.text(
            (CANVAS / 2, CANVAS / 2),
            glyph,
            fill=255,
            font=_font(size),
            anchor="mm",
            stroke_width=stroke,
            stroke_fill=255,
        )
    moved = canvas.transform((CANVAS, CANVAS), Image.Transform.AFFINE, _affine(rng), resample=Image.Resampling.BILINEAR)
    mask = np.asarray(moved.resize((image_size, image_size), Image.Resampling.BILINEAR), dtype=np.float32) / 255.0
    if channels == 1:
        image = mask[None]
    else:
        background = rng.uniform(0.0, 0.4, size=(channels, 1, 1))
        foreground = rng.uniform(0.6, 1.0, size=(channels, 1, 1))
        image = background + (foreground - background) * mask[None]
    noisy = image + rng.normal(0.0, rng.uniform(0.0, 0.1), size=image.shape)
    return np.clip(noisy, 0.0, 1.0).astype(np.float32)


def render_glyphs(
    num_classes: int, image_size: int, channels: int, per_class: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """`per_class` rendered images of each class: x (N, C, H, W) in [0, 1] grouped by class, y (N,) int64."""
    if per_class < 1:
        raise ConfigError("per_class", f"{per_class} is out of range; render at least one image per class")
    names = glyph_class_names(num_classes)
    rng = np.random.default_rng(seed)
    images = [_render_one(name, image_size, channels, rng) for name in names for _ in range(per_class)]
    labels = torch.arange(num_classes).repeat_interleave(per_class)
    return torch.from_numpy(np.stack(images)), labels


def glyph_info(target: str) -> DatasetInfo:
    """The glyph dataset's facts for a target dataset: its class count, channels and image size."""
    info = dataset_info(target)
    return replace(
        info,
        name=f"glyphs-{target}",
        title=f"Glyphs for {info.title}",
        class_names=glyph_class_names(info.num_classes),
        default_augment=(),
        source="rendered by workbench.glyphs (PIL glyphs with affine jitter, stroke width and noise)",
    )


def glyph_dataset(
    target: str, *, per_class: int = 300, test_per_class: int = 50, seed: int = 0, device: str | torch.device = "cpu"
) -> LoadedDataset:
    """The glyph dataset shaped like `target`, normalised with its own training split's channel statistics.

    The training split is rendered from `seed`, the test split from `seed + 1`."""
    info = glyph_info(target)
    train_x, train_y = render_glyphs(info.num_classes, info.image_size, info.in_channels, per_class, seed)
    test_x, test_y = render_glyphs(info.num_classes, info.image_size, info.in_channels, test_per_class, seed + 1)
    mean, std = train_x.mean(dim=(0, 2, 3)), train_x.std(dim=(0, 2, 3))
    target_device = torch.device(device)

    def normalised(x: torch.Tensor) -> torch.Tensor:
        return ((x - mean.view(-1, 1, 1)) / std.view(-1, 1, 1)).to(target_device)

    return LoadedDataset(
        info,
        Split(normalised(train_x), train_y.to(target_device)),
        Split(normalised(test_x), test_y.to(target_device)),
        tuple(mean.tolist()),
        tuple(std.tolist()),
    )


def glyph_preview(target: str, n: int = 40, seed: int = 0) -> torch.Tensor:
    """`n` glyph images shaped like `target` (classes in turn), in [0, 1] for display: (n, C, H, W)."""
    info = dataset_info(target)
    per_class = -(-n // info.num_classes)
    x, _ = render_glyphs(info.num_classes, info.image_size, info.in_channels, per_class, seed)
    order = torch.arange(x.shape[0]).view(info.num_classes, per_class).t().reshape(-1)
    return x[order[:n]]
