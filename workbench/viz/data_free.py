"""What a data-free run's generator does, live: the teacher's predicted-class histogram of each epoch's generated
(and, for PRE-DFKD, replayed) images with its entropy over the epochs, and the generator's own loss terms per step.

Metric frames are as `RunStore.metrics_frame` returns them (run_id, step, epoch, scope, name, value); the methods
record `teacher_class_share_<k>`, `teacher_class_entropy` (and `replay_class_*`) per epoch and the weighted
generator terms (`g_*`) per step."""

from __future__ import annotations

from typing import Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..text import escape_html
from .curves import term_curves
from .style import apply_layout, colour, epoch_axis, legend_below

SOURCES = {"teacher_class": "generated", "replay_class": "replayed"}
GENERATOR_TERMS = {
    "g_onehot": "one-hot",
    "g_entropy": "information entropy",
    "g_activation": "activation",
    "g_bn": "BatchNorm statistics",
    "g_adv": "novelty (disagreement)",
}


def latest_shares(epochs: pd.DataFrame, run_id: str, prefix: str) -> tuple[int | None, list[float]]:
    """The newest epoch of a run that recorded `<prefix>_share_<k>`, and its shares in class order (None, [] when
    there is none)."""
    if epochs.empty:
        return None, []
    rows = epochs[
        (epochs["run_id"] == run_id) & (epochs["scope"] == "epoch") & epochs["name"].str.startswith(f"{prefix}_share_")
    ]
    if rows.empty:
        return None, []
    epoch = int(rows["epoch"].max())
    latest = rows[rows["epoch"] == epoch].drop_duplicates("name", keep="last")
    by_class = {int(name.rsplit("_", 1)[1]): float(value) for name, value in zip(latest["name"], latest["value"])}
    return epoch, [by_class[k] for k in sorted(by_class)]


def class_histogram_figure(epochs: pd.DataFrame, labels: dict[str, str], class_names: Sequence[str]) -> go.Figure:
    """Left: the share of each class in the teacher's predictions on the newest epoch's generated (solid) and
    replayed (hatched) images, one colour per run, with the uniform share dotted; right: that histogram's entropy
    over log(classes) per epoch (1: flat)."""
    figure = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.62, 0.38],
        subplot_titles=("teacher's classes on the newest epoch's images", "flatness (entropy / log classes)"),
    )
    for index, (run_id, label) in enumerate(labels.items()):
        for prefix, source in SOURCES.items():
            epoch, shares = latest_shares(epochs, run_id, prefix)
            if epoch is None:
                continue
            name = f"{escape_html(label)}: {source}"
            figure.add_trace(
                go.Bar(
                    x=[str(class_names[k]) if k < len(class_names) else str(k) for k in range(len(shares))],
                    y=shares,
                    name=f"{name} (epoch {epoch})",
                    legendgroup=name,
                    marker=dict(color=colour(index), pattern_shape="/" if prefix == "replay_class" else ""),
                ),
                row=1,
                col=1,
            )
            entropy = epochs[
                (epochs["run_id"] == run_id) & (epochs["scope"] == "epoch") & (epochs["name"] == f"{prefix}_entropy")
            ].sort_values("epoch")
            figure.add_trace(
                go.Scatter(
                    x=entropy["epoch"],
                    y=entropy["value"],
                    mode="lines+markers",
                    name=name,
                    legendgroup=name,
                    showlegend=False,
                    line=dict(color=colour(index), dash="dash" if prefix == "replay_class" else "solid"),
                ),
                row=1,
                col=2,
            )
    if class_names:
        figure.add_hline(y=1.0 / len(class_names), line=dict(dash="dot", color="grey"), row=1, col=1)
    figure.update_layout(barmode="group")
    figure.update_yaxes(title="share of images", rangemode="tozero", row=1, col=1)
    figure.update_yaxes(range=[0, 1.05], row=1, col=2)
    figure.update_xaxes(title="class predicted by the teacher", row=1, col=1)
    epoch_axis(figure, None if epochs.empty else float(epochs["epoch"].max()), row=1, col=2)
    return apply_layout(legend_below(figure), "What the teacher sees in the generated images", height=400)


def generator_terms_figure(steps: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """The generator's weighted loss terms per step (one-hot, information entropy, activation, BatchNorm
    statistics, PRE-DFKD's novelty term), one colour per term, one dash per run; the generator minimises their sum."""
    rows = steps[(steps["scope"] == "step") & steps["name"].isin(GENERATOR_TERMS)] if len(steps) else steps
    figure = term_curves(rows, labels, GENERATOR_TERMS)
    figure.update_xaxes(title="step")
    figure.update_yaxes(title="loss (weighted)")
    return apply_layout(legend_below(figure), "The generator's loss terms", height=380)
