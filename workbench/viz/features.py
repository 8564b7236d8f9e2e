"""What a network holds: the student and teacher features a method matches, spatial attention maps beside
their input images, and the weight levels of each quantised layer."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import apply_layout, colour

if TYPE_CHECKING:
    from ..methods.base import FeatureMatch


def feature_match_figure(matches: Sequence["FeatureMatch"], student: str) -> go.Figure:
    """The student's features (left) and the teachers' (right) that a method compares, one box per feature
    labelled with its per-image shape (C×H×W or D) and sized by its number of values, each matched pair joined
    by a line that says how the two are brought together."""
    from ..methods.features import shape_text

    students = list(dict.fromkeys((m.student_layer, tuple(m.student_shape)) for m in matches))
    teachers = list(dict.fromkeys((m.teacher, m.teacher_layer, tuple(m.teacher_shape)) for m in matches))
    rows = max(len(students), len(teachers), 1)
    sizes = [math.prod(shape) for _, shape in students] + [math.prod(shape) for *_, shape in teachers]
    largest = max(sizes, default=1)

    def row_y(index: int, count: int) -> float:
        return rows - 1 - index * (rows - 1) / max(count - 1, 1) if count > 1 else (rows - 1) / 2

    def box(figure: go.Figure, x: float, y: float, values: int, text: str, fill: str) -> None:
        half = 0.12 + 0.28 * math.sqrt(values / largest)  # box area grows with the feature's size
        figure.add_shape(
            type="rect",
            x0=x - half,
            x1=x + half,
            y0=y - 0.3,
            y1=y + 0.3,
            fillcolor=fill,
            opacity=0.35,
            line=dict(color=fill),
        )
        figure.add_annotation(x=x, y=y, text=text, showarrow=False, font=dict(size=12))

    figure = go.Figure()
    student_y = {layer: row_y(i, len(students)) for i, (layer, _) in enumerate(students)}
    teacher_y = {(name, layer): row_y(i, len(teachers)) for i, (name, layer, _) in enumerate(teachers)}
    for match in matches:
        y0, y1 = student_y[match.student_layer], teacher_y[(match.teacher, match.teacher_layer)]
        figure.add_trace(
            go.Scatter(
                x=[0.45, 2.55],
                y=[y0, y1],
                mode="lines",
                line=dict(color="#888", width=2),
                hoverinfo="text",
                text=match.link,
                showlegend=False,
            )
        )
        figure.add_annotation(
            x=1.5,
            y=(y0 + y1) / 2,
            text=match.link,
            showarrow=False,
            yshift=10,
            font=dict(size=11, color="#444"),
            bgcolor="rgba(255,255,255,0.8)",
        )
    for layer, shape in students:
        box(figure, 0.0, student_y[layer], math.prod(shape), f"<b>{layer}</b><br>{shape_text(shape)}", colour(0))
    for name, layer, shape in teachers:
        box(
            figure,
            3.0,
            teacher_y[(name, layer)],
            math.prod(shape),
            f"{name}<br><b>{layer}</b><br>{shape_text(shape)}",
            colour(1),
        )
    figure.update_xaxes(
        range=[-0.6, 3.6],
        tickvals=[0, 3],
        ticktext=[f"student {student}", "teacher(s)"],
        showgrid=False,
        zeroline=False,
    )
    figure.update_yaxes(range=[-0.6, rows - 0.4], visible=False)
    return apply_layout(
        figure, "Features compared (student → teacher; box area ∝ values per image)", height=140 + 90 * rows
    )


def attention_maps_figure(images: np.ndarray, maps: dict[str, np.ndarray]) -> go.Figure:
    """Input images (N, H, W) in the first row, then one row of attention maps (N, h, w) per model (keys)."""
    count = len(images)
    rows = 1 + len(maps)
    figure = make_subplots(
        rows=rows, cols=count, vertical_spacing=0.04, horizontal_spacing=0.02, row_titles=["input", *maps]
    )
    for column in range(1, count + 1):
        figure.add_trace(
            go.Heatmap(z=images[column - 1], colorscale="gray", showscale=False, hoverinfo="skip"), row=1, col=column
        )
        for row, attention in enumerate(maps.values(), start=2):
            figure.add_trace(
                go.Heatmap(
                    z=attention[column - 1],
                    colorscale="Viridis",
                    zmin=0,
                    zmax=1,
                    showscale=False,
                    hovertemplate="%{z:.2f}<extra></extra>",
                ),
                row=row,
                col=column,
            )
    figure.update_xaxes(showticklabels=False)
    figure.update_yaxes(showticklabels=False, autorange="reversed")
    return apply_layout(
        figure, "Where each network looks: spatial attention at its last feature map", height=110 + 110 * rows
    )


def weight_histogram_figure(histograms: dict[str, tuple[list[float], list[int]]]) -> go.Figure:
    """One bar chart per quantised layer: the weight values the layer uses and how many weights take each."""
    names = list(histograms) or ["(no quantised layer)"]
    columns = min(3, len(names))
    rows = -(-len(names) // columns)
    figure = make_subplots(rows=rows, cols=columns, subplot_titles=names)
    for position, name in enumerate(histograms):
        levels, counts = histograms[name]
        figure.add_trace(
            go.Bar(x=levels, y=counts, name=name, marker_color=colour(position), showlegend=False),
            row=position // columns + 1,
            col=position % columns + 1,
        )
    return apply_layout(figure, "Weight levels per quantised layer (value → count)", height=120 + 200 * rows)
