"""How a method's knowledge flows, drawn from its declaration (`Method.card()`) and the setup's T and α: where a
response-based method's soft targets come from and how they reach the student beside the labels, and a data-free
method's generator making the images teacher and student compare. Boxes and arrows only: nothing is trained,
loaded or measured here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import plotly.graph_objects as go

from .style import apply_layout, colour

if TYPE_CHECKING:
    from ..config import RunConfig

BOX_HALF_WIDTH, BOX_HALF_HEIGHT = 0.95, 0.32
GREY = "#888"


def soft_target_source(card: Mapping[str, Any]) -> str | None:
    """Where a method's soft targets come from, read from its declared teacher need and scheme; None for a method
    with no teacher, no peers and no softened target (the baseline: labels only)."""
    need, scheme = card["teachers"], card["scheme"]
    if need == "one":
        return "teacher (frozen)"
    if need == "several":
        return "teachers (frozen)"
    if need == "self":
        return "the student itself"
    if scheme == "online":
        return "peer students<br>(trained together)"
    if scheme == "self":
        return "a made-up target<br>(no teacher network)"
    if card["uses_temperature"]:
        return "a teacher the<br>method makes"
    return None


def _value_text(symbol: str, kind: str, start: float, end: float) -> str:
    return f"{symbol} = {start:g}" if kind == "constant" else f"{symbol}: {start:g} → {end:g} {kind}"


def _box(figure: go.Figure, x: float, y: float, text: str, fill: str, dashed: bool = False) -> None:
    figure.add_shape(
        type="rect",
        x0=x - BOX_HALF_WIDTH,
        x1=x + BOX_HALF_WIDTH,
        y0=y - BOX_HALF_HEIGHT,
        y1=y + BOX_HALF_HEIGHT,
        fillcolor=fill,
        opacity=0.3,
        line=dict(color=fill, dash="dot" if dashed else "solid"),
    )
    figure.add_annotation(x=x, y=y, text=text, showarrow=False, font=dict(size=12))


def _arrow(figure: go.Figure, start: tuple[float, float], end: tuple[float, float], label: str = "") -> None:
    """An arrow from box centre `start` to box centre `end`, drawn between the boxes' edges, labelled midway."""
    (x0, y0), (x1, y1) = start, end
    dx, dy = x1 - x0, y1 - y0
    # leave and enter the boxes where the line crosses their edges
    scale = min(BOX_HALF_WIDTH / abs(dx) if dx else float("inf"), BOX_HALF_HEIGHT / abs(dy) if dy else float("inf"))
    sx, sy, ex, ey = x0 + dx * scale, y0 + dy * scale, x1 - dx * scale, y1 - dy * scale
    figure.add_annotation(
        x=ex,
        y=ey,
        ax=sx,
        ay=sy,
        xref="x",
        yref="y",
        axref="x",
        ayref="y",
        text="",
        showarrow=True,
        arrowhead=2,
        arrowsize=1.2,
        arrowwidth=1.5,
        arrowcolor=GREY,
    )
    if label:
        figure.add_annotation(
            x=(sx + ex) / 2,
            y=(sy + ey) / 2,
            text=label,
            showarrow=False,
            yshift=12 + 7 * label.count("<br>"),  # a two-line label stays above its arrow
            font=dict(size=11, color="#444"),
            bgcolor="rgba(255,255,255,0.85)",
        )


def _frame(
    figure: go.Figure, title: str, x_range: tuple[float, float], y_range: tuple[float, float], height: int
) -> go.Figure:
    figure.update_xaxes(range=list(x_range), visible=False)
    figure.update_yaxes(range=list(y_range), visible=False)
    figure.update_layout(plot_bgcolor="white")
    return apply_layout(figure, title, height=height)


def response_flow_figure(card: Mapping[str, Any], config: "RunConfig") -> go.Figure:
    """A response-based method: its soft-target source → softmax at the setup's temperature (T = 1 for a method
    that uses none) → the student, beside the labels' cross-entropy; the α weights when the method uses α."""
    source = soft_target_source(card)
    uses_alpha = bool(card["uses_alpha"])
    alpha = _value_text("α", config.alpha_schedule, config.alpha, config.alpha_end)
    figure = go.Figure()
    student, labels = (7.2, 1.8), (3.6, 0.3)
    _box(figure, *student, "<b>student</b>", colour(0))
    _box(figure, *labels, "labels y", GREY)
    hard = "cross-entropy"
    if source is not None and uses_alpha:
        hard += ", weight 1 − α"
    _arrow(figure, labels, student, hard)
    if source is not None:
        origin, soften = (0.0, 1.8), (3.6, 1.8)
        _box(figure, *origin, source, colour(1))
        if card["uses_temperature"]:
            temperature = _value_text("T", config.temperature_schedule, config.temperature, config.temperature_end)
            _box(figure, *soften, "soft targets<br>softmax(z / T)", colour(2))
            figure.add_annotation(  # under the box: a schedule's text would not fit inside it at 1024 px
                x=soften[0],
                y=soften[1] - BOX_HALF_HEIGHT,
                yshift=-10,
                text=temperature,
                showarrow=False,
                font=dict(size=11, color="#444"),
            )
        else:
            _box(figure, *soften, "soft targets<br>softmax(z), T = 1", colour(2))
        made_up = card["teachers"] == "none" and card["scheme"] == "self"  # a distribution, not a network's logits
        _arrow(figure, origin, soften, "a distribution" if made_up else "logits z")
        _arrow(figure, soften, student, f"match<br>weight {alpha}" if uses_alpha else "match")
        title = f"{card['name']}: soft targets → the student, beside the labels"
    else:
        title = f"{card['name']}: the student learns the labels alone"
    return _frame(figure, title, (-1.1, 8.3), (-0.2, 2.3), 260)


def data_free_flow_figure(card: Mapping[str, Any]) -> go.Figure:
    """A data-free method: noise → generator → generated images, shown to the frozen teacher and to the student;
    the student matches the teacher's outputs on them, and the generator learns from the teacher's outputs
    (dashed). No training image is read."""
    figure = go.Figure()
    noise, generator, images = (0.0, 1.0), (2.3, 1.0), (4.6, 1.0)
    teacher, student = (7.0, 2.0), (7.0, 0.0)
    _box(figure, *noise, "noise z", GREY)
    _box(figure, *generator, "<b>generator</b><br>(trained beside)", colour(3))
    _box(figure, *images, "generated<br>images", colour(2))
    _box(figure, *teacher, "teacher (frozen)", colour(1))
    _box(figure, *student, "<b>student</b>", colour(0))
    _arrow(figure, noise, generator)
    _arrow(figure, generator, images)
    _arrow(figure, images, teacher)
    _arrow(figure, images, student)
    _arrow(figure, teacher, student)
    figure.add_annotation(
        x=teacher[0] + 0.1,
        y=(teacher[1] + student[1]) / 2,
        text="student matches<br>the teacher",
        showarrow=False,
        xanchor="left",
        font=dict(size=11, color="#444"),
    )
    top = generator[1] + BOX_HALF_HEIGHT
    figure.add_trace(
        go.Scatter(
            x=[teacher[0] - BOX_HALF_WIDTH, generator[0], generator[0]],
            y=[teacher[1], teacher[1], top + 0.15],
            mode="lines",
            line=dict(color=GREY, dash="dash"),
            hoverinfo="skip",
            showlegend=False,
        )
    )
    figure.add_annotation(
        x=generator[0],
        y=top,
        ax=generator[0],
        ay=top + 0.15,
        xref="x",
        yref="y",
        axref="x",
        ayref="y",
        text="",
        showarrow=True,
        arrowhead=2,
        arrowsize=1.2,
        arrowcolor=GREY,
    )
    figure.add_annotation(
        x=(generator[0] + teacher[0] - BOX_HALF_WIDTH) / 2,
        y=teacher[1],
        yshift=12,
        showarrow=False,
        text="the generator learns from the teacher's outputs",
        font=dict(size=11, color="#444"),
        bgcolor="rgba(255,255,255,0.85)",
    )
    return _frame(
        figure,
        f"{card['name']}: a generator makes the images; no training image is read",
        (-1.1, 9.0),
        (-0.5, 2.5),
        300,
    )
