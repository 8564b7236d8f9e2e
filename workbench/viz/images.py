"""Images: a teacher's soft targets under their test images, image batches as one grid, a method's samples
over the epochs, and sample-grid PNGs enlarged with sharp pixels."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..previews import SoftTargetPreview, entropy, soften
from ..text import clip
from .style import apply_layout, colour


def soft_target_figure(preview: SoftTargetPreview, temperature: float) -> go.Figure:
    """Each image above the teacher's softened output at `temperature`; the hard label's bar stands out and
    each title gives the label and the entropy of the soft target."""
    probs = soften(preview.logits, temperature)
    spread = entropy(probs)
    count = len(preview.labels)
    titles = [clip(preview.class_names[label], 11) for label in preview.labels] + [f"H {h:.2f}" for h in spread]
    figure = make_subplots(
        rows=2,
        cols=count,
        subplot_titles=titles,
        row_heights=[0.45, 0.55],
        vertical_spacing=0.12,
        horizontal_spacing=0.03,
    )
    classes = list(range(probs.shape[1]))
    for column, label in enumerate(preview.labels, start=1):
        image = preview.images[column - 1]
        if image.ndim == 2:
            figure.add_trace(
                go.Heatmap(z=image, colorscale="gray", showscale=False, hoverinfo="skip"), row=1, col=column
            )
            figure.update_yaxes(autorange="reversed", row=1, col=column)
        else:
            figure.add_trace(go.Image(z=(image * 255).astype(np.uint8), hoverinfo="skip"), row=1, col=column)
        figure.add_trace(
            go.Bar(
                x=classes,
                y=probs[column - 1],
                showlegend=False,
                marker_color=[colour(3) if c == label else colour(0) for c in classes],
                hovertemplate="class %{x}: %{y:.3f}<extra></extra>",
            ),
            row=2,
            col=column,
        )
        figure.update_yaxes(range=[0, 1], row=2, col=column, showticklabels=column == 1)
    figure.update_xaxes(showticklabels=False, row=1)
    figure.update_yaxes(showticklabels=False, row=1)
    figure.update_xaxes(dtick=1 if probs.shape[1] <= 10 else None, tickangle=0, tickfont=dict(size=9), row=2)
    figure.update_annotations(font=dict(size=12))
    figure.update_layout(
        title=f"{preview.teacher}'s soft targets at T = {temperature:g}<br><sup>red: the true label · H: entropy "
        "(nats)</sup>",
        height=420,
        margin=dict(l=30, r=10, t=80, b=30),
        showlegend=False,
    )
    return figure


def tile_images(batch: np.ndarray, columns: int = 8) -> np.ndarray:
    """A batch (N, C, H, W) as one image grid, rescaled to [0, 1] by the batch's minimum and maximum:
    (rows·H, columns·W) for one channel, (rows·H, columns·W, 3) for three."""
    images = np.asarray(batch, dtype=np.float64)
    low, high = images.min(), images.max()
    images = (images - low) / (high - low) if high > low else np.zeros_like(images)
    count, channels, height, width = images.shape
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    grid = np.ones((rows * height, columns * width, channels))
    for index in range(count):
        row, column = divmod(index, columns)
        grid[row * height : (row + 1) * height, column * width : (column + 1) * width] = images[index].transpose(
            1, 2, 0
        )
    return grid[:, :, 0] if channels == 1 else grid


def enlarged_png(path: str | Path, width: int = 480) -> bytes:
    """A PNG image enlarged by a whole factor to at least `width` pixels, each pixel a sharp block (a browser
    would blur small images such as 8×8 digits when it scales them up)."""
    from PIL import Image

    with Image.open(path) as image:
        factor = max(1, -(-width // image.width))
        enlarged = image.resize((image.width * factor, image.height * factor), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    enlarged.save(buffer, format="PNG")
    return buffer.getvalue()


def _add_grid(figure: go.Figure, grid: np.ndarray, row: int, col: int) -> None:
    if grid.ndim == 2:
        figure.add_trace(go.Heatmap(z=grid, colorscale="gray", showscale=False, hoverinfo="skip"), row=row, col=col)
        figure.update_yaxes(autorange="reversed", row=row, col=col)
    else:
        figure.add_trace(go.Image(z=(grid * 255).astype(np.uint8), hoverinfo="skip"), row=row, col=col)
    figure.update_xaxes(showticklabels=False, row=row, col=col)
    figure.update_yaxes(showticklabels=False, row=row, col=col)


def image_grid_figure(batch: np.ndarray, title: str, columns: int = 8) -> go.Figure:
    """A batch of images (N, C, H, W), any value range, shown as one grid."""
    figure = make_subplots(rows=1, cols=1)
    _add_grid(figure, tile_images(batch, columns), 1, 1)
    rows = -(-len(batch) // max(1, min(columns, len(batch))))
    return apply_layout(figure, title, height=120 + 60 * rows)


def sample_evolution_figure(snapshots: dict[int, np.ndarray], title: str, columns: int = 4) -> go.Figure:
    """Image batches (N, C, H, W) taken at several epochs (keys), one grid per epoch side by side."""
    epochs = sorted(snapshots)
    figure = make_subplots(
        rows=1, cols=max(1, len(epochs)), subplot_titles=[f"epoch {e}" for e in epochs], horizontal_spacing=0.02
    )
    for column, epoch in enumerate(epochs, start=1):
        _add_grid(figure, tile_images(snapshots[epoch], columns), 1, column)
    return apply_layout(figure, title, height=300)
