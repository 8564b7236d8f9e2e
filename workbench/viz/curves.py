"""Curves over training: live loss terms, accuracy, agreement and KL per run, the α and T schedule, the effects
of the temperature on soft targets, and the empty live chart a notebook fills one epoch at a time.

Metric frames are as `RunStore.metrics_frame` returns them (run_id, step, epoch, scope, name, value)."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..config import RunConfig
from ..previews import SoftTargetPreview, entropy, soften
from ..schedules import schedule_value
from ..text import escape_html
from .style import apply_layout, colour, epoch_axis, legend_below, thin

NOT_LOSS_TERMS = ("alpha", "temperature", "lr")


WAITING_STEP = "waiting for the first step…"


def waiting_figure(title: str, text: str = WAITING_STEP, height: int = 340) -> go.Figure:
    """A chart with nothing to draw yet: its title and one line saying what it waits for, no empty axes."""
    figure = go.Figure()
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    figure.add_annotation(text=text, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font=dict(size=16))
    return apply_layout(figure, title, height=height)


def term_curves(rows: pd.DataFrame, labels: dict[str, str], terms: dict[str, str], bold: str = "") -> go.Figure:
    """Step rows of each term (name: title) per run as lines: one colour per term, one dash per run; `bold` drawn
    thicker (the total)."""
    figure = go.Figure()
    dashes = ("solid", "dash", "dot", "dashdot")
    for run_index, (run_id, label) in enumerate(labels.items()):
        for term_index, (term, title) in enumerate(terms.items()):
            series = thin(rows[(rows["run_id"] == run_id) & (rows["name"] == term)].sort_values("step"))
            if series.empty:
                continue
            figure.add_trace(
                go.Scatter(
                    x=series["step"],
                    y=series["value"],
                    mode="lines",
                    name=f"{escape_html(label)}: {title}",
                    legendgroup=label,
                    line=dict(
                        color=colour(term_index),
                        dash=dashes[run_index % len(dashes)],
                        width=2.5 if term == bold else 1.5,
                    ),
                )
            )
    return figure


def loss_terms_figure(steps: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """Each weighted loss term and the total per optimisation step, one colour per term, one dash per run (before
    the first step: a chart saying it waits for it)."""
    rows = steps[(steps["scope"] == "step") & ~steps["name"].isin(NOT_LOSS_TERMS)] if len(steps) else steps
    names = sorted(set(rows["name"]) - {"loss"}) + (["loss"] if "loss" in set(rows["name"]) else [])
    figure = term_curves(rows, labels, {name: name for name in names}, bold="loss")
    if not figure.data:
        return waiting_figure("Loss terms")
    figure.update_xaxes(title="step")
    figure.update_yaxes(title="loss (weighted)")
    return apply_layout(figure, "Loss terms")


def accuracy_figure(epochs: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """Train (dashed) and test (solid) accuracy per epoch, one colour per run; within an epoch, test accuracy on a
    fixed test subset (dotted, scope `probe`, drawn at the fractional epoch it was taken). Before any of them: a
    chart saying it waits for the first evaluation."""
    figure = go.Figure()
    last = 0.0
    for index, (run_id, label) in enumerate(labels.items()):
        probe = _probe_series(epochs, run_id)
        if not probe.empty:
            last = max(last, float(probe["x"].max()))
            figure.add_trace(
                go.Scatter(
                    x=probe["x"],
                    y=probe["y"],
                    mode="lines",
                    name=f"{escape_html(label)}: test (subset, live)",
                    line=dict(color=colour(index), dash="dot", width=1.5),
                )
            )
        for name, dash in (("test_acc", "solid"), ("train_acc", "dash")):
            series = _epoch_series(epochs, run_id, name)
            if not series.empty:
                last = max(last, float(series["epoch"].max()))
                figure.add_trace(
                    go.Scatter(
                        x=series["epoch"],
                        y=series["value"],
                        mode="lines+markers",
                        name=f"{escape_html(label)}: {name.replace('_acc', '')}",
                        line=dict(color=colour(index), dash=dash),
                    )
                )
    if not figure.data:
        return waiting_figure("Accuracy", "waiting for the first evaluation…", height=380)
    epoch_axis(figure, math.ceil(last))
    figure.update_xaxes(range=[0, max(1, math.ceil(last))])
    figure.update_yaxes(title="accuracy", rangemode="tozero")
    return apply_layout(legend_below(figure), "Accuracy", height=380)


def agreement_kl_figure(epochs: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """Top-1 agreement with the first teacher and KL(teacher ‖ student) on the test split, per epoch, side by side
    (named by their y axes: no subplot titles to collide at projector widths); before the first epoch ends, a chart
    saying it waits for it."""
    figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.12)
    for index, (run_id, label) in enumerate(labels.items()):
        for column, name in ((1, "agreement"), (2, "kl")):
            series = _epoch_series(epochs, run_id, name)
            if not series.empty:
                figure.add_trace(
                    go.Scatter(
                        x=series["epoch"],
                        y=series["value"],
                        mode="lines+markers",
                        name=escape_html(label),
                        legendgroup=label,
                        showlegend=column == 1,
                        line=dict(color=colour(index)),
                    ),
                    row=1,
                    col=column,
                )
    title = "Agreement and KL with the teacher (test split)"
    if not figure.data:
        return waiting_figure(title, "waiting for the end of the first epoch…", height=380)
    epoch_axis(figure, last_epoch(epochs))
    figure.update_yaxes(title="top-1 agreement", row=1, col=1)
    figure.update_yaxes(title="KL(teacher ‖ student)", row=1, col=2)
    return apply_layout(legend_below(figure), title, height=380)


def last_epoch(epochs: pd.DataFrame) -> float | None:
    """The highest epoch in an epoch-metrics frame (None when it is empty)."""
    return None if epochs.empty else float(epochs["epoch"].max())


def _probe_series(metrics: pd.DataFrame, run_id: str) -> pd.DataFrame:
    """A run's probe rows as x (fractional epoch) and y (subset test accuracy), in step order."""
    if metrics.empty:
        return pd.DataFrame(columns=["x", "y"])
    rows = metrics[(metrics["run_id"] == run_id) & (metrics["scope"] == "probe")]
    table = rows.pivot_table(index="step", columns="name", values="value", aggfunc="last")
    if "test_acc" not in table or "epoch" not in table:
        return pd.DataFrame(columns=["x", "y"])
    table = table.dropna(subset=["test_acc", "epoch"]).sort_index()
    return pd.DataFrame({"x": table["epoch"].to_numpy(), "y": table["test_acc"].to_numpy()})


def _epoch_series(epochs: pd.DataFrame, run_id: str, name: str) -> pd.DataFrame:
    if epochs.empty:
        return epochs
    rows = epochs[(epochs["run_id"] == run_id) & (epochs["scope"] == "epoch") & (epochs["name"] == name)]
    return rows.sort_values("epoch").drop_duplicates("epoch", keep="last")


def schedule_figure(config: RunConfig, points: int = 201) -> go.Figure:
    """α (left axis) and the temperature T (right axis) over the epochs of `config`, as the engine sets them."""
    progress = np.linspace(0.0, 1.0, points)
    epochs = progress * config.epochs
    alpha = [
        schedule_value(
            config.alpha_schedule, config.alpha, config.alpha_end, p, config.schedule_fraction, config.schedule_steps
        )
        for p in progress
    ]
    temperature = [
        schedule_value(
            config.temperature_schedule,
            config.temperature,
            config.temperature_end,
            p,
            config.schedule_fraction,
            config.schedule_steps,
        )
        for p in progress
    ]
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(
        go.Scatter(x=epochs, y=alpha, name=f"α ({config.alpha_schedule})", line=dict(color=colour(0))),
        secondary_y=False,
    )
    figure.add_trace(
        go.Scatter(
            x=epochs, y=temperature, name=f"T ({config.temperature_schedule})", line=dict(color=colour(1), dash="dash")
        ),
        secondary_y=True,
    )
    figure.update_xaxes(title="epoch", range=[0, config.epochs])
    figure.update_yaxes(title="α (soft-loss weight)", range=[-0.02, 1.02], secondary_y=False)
    figure.update_yaxes(title="temperature T", range=[0, 1.05 * max(temperature)], tickmode="auto", secondary_y=True)
    return apply_layout(figure, "Schedule over training", height=300)


def soft_gradient_scale(logits: np.ndarray, temperature: float, times_t_squared: bool) -> float:
    """Mean norm of the soft-loss gradient at an untrained student (uniform output) for a teacher's `logits`:
    d KL(p_T ‖ q_T) / d z = (q_T − p_T) / T, times T² when `times_t_squared` (the Hinton loss's factor)."""
    teacher = soften(logits, temperature)
    student = np.full_like(teacher, 1.0 / teacher.shape[1])
    norms = np.linalg.norm(student - teacher, axis=1) / temperature
    return float(norms.mean() * (temperature**2 if times_t_squared else 1.0))


def temperature_effects_figure(preview: SoftTargetPreview, temperatures: Sequence[float]) -> go.Figure:
    """Over a range of temperatures: the soft targets' mean entropy and the probability mass on the wrong
    classes (the "dark knowledge"), and the soft-loss gradient's size with and without the T² factor."""
    temps = [float(t) for t in temperatures]
    wrong_mass = []
    for t in temps:
        probs = soften(preview.logits, t)
        wrong_mass.append(float(np.mean([1.0 - probs[i, label] for i, label in enumerate(preview.labels)])))
    figure = make_subplots(
        rows=1, cols=2, subplot_titles=("What soft targets carry", "Gradient size (log)"), horizontal_spacing=0.12
    )
    figure.add_trace(
        go.Scatter(
            x=temps,
            y=[float(entropy(soften(preview.logits, t)).mean()) for t in temps],
            name="mean entropy (nats)",
            line=dict(color=colour(0)),
        ),
        row=1,
        col=1,
    )
    figure.add_trace(
        go.Scatter(x=temps, y=wrong_mass, name="mass on wrong classes", line=dict(color=colour(3), dash="dash")),
        row=1,
        col=1,
    )
    for index, (scaled, name) in enumerate(((False, "KL alone"), (True, "T² · KL"))):
        figure.add_trace(
            go.Scatter(
                x=temps,
                y=[soft_gradient_scale(preview.logits, t, scaled) for t in temps],
                name=name,
                line=dict(color=colour(4 + index)),
            ),
            row=1,
            col=2,
        )
    figure.update_xaxes(title="temperature T")
    figure.update_yaxes(type="log", dtick=1, row=1, col=2)  # a label per decade, not "2 5 2 5" between them
    figure = apply_layout(figure, "Higher T: more dark knowledge, smaller gradients unless × T²", height=400)
    figure.update_layout(legend=dict(orientation="h", y=-0.25, x=0), margin=dict(b=90))  # below: narrow outputs
    return figure


def live_metric_figure(metric: str = "test_acc", title: str | None = None) -> go.Figure:
    """An empty per-epoch chart of `metric` for a live plot (FigureWidget) that gains one trace per run."""
    figure = go.Figure()
    figure.update_xaxes(title="epoch", rangemode="tozero")
    figure.update_yaxes(title=metric.replace("_", " "))
    return apply_layout(figure, title or f"{metric.replace('_', ' ')} per epoch (live)")


def run_trace(label: str, index: int) -> go.Scatter:
    """An empty line-and-markers trace for one run of a live plot, in the palette's index-th colour."""
    return go.Scatter(x=[], y=[], mode="lines+markers", name=escape_html(label), line=dict(color=colour(index)))
