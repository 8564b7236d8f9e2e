"""Comparing runs: curves overlaid with mean ± std bands across seeds, the gain over the baseline student,
accuracy against model size with its Pareto front, and accuracy along a sequential-FEED generation chain.
The tables they draw come from `workbench.comparison` (and `generations.chain_table`)."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from ..text import escape_html
from .style import apply_layout, colour, epoch_axis, legend_below


def compare_figure(
    epochs: pd.DataFrame, groups: dict[str, list[str]], metric: str = "test_acc", label: str | None = None
) -> go.Figure:
    """`metric` (called `label` on the axis) per epoch overlaid for each group of runs: the run itself when
    alone, else the mean across its seeds with a shaded mean ± std band."""
    figure = go.Figure()
    rows = epochs[(epochs["scope"] == "epoch") & (epochs["name"] == metric)] if len(epochs) else epochs
    for index, (group, run_ids) in enumerate(groups.items()):
        series = rows[rows["run_id"].isin(run_ids)] if len(rows) else rows
        if series.empty:
            continue
        stats = series.groupby("epoch")["value"].agg(["mean", "std", "count"]).reset_index()
        line = colour(index)
        if len(run_ids) > 1:
            upper = stats["mean"] + stats["std"].fillna(0.0)
            lower = stats["mean"] - stats["std"].fillna(0.0)
            figure.add_trace(
                go.Scatter(
                    x=list(stats["epoch"]) + list(stats["epoch"][::-1]),
                    y=list(upper) + list(lower[::-1]),
                    fill="toself",
                    fillcolor=line,
                    opacity=0.2,
                    line=dict(width=0),
                    hoverinfo="skip",
                    legendgroup=group,
                    showlegend=False,
                    name=f"{escape_html(group)} ± std",
                )
            )
        name = escape_html(f"{group} (mean of {len(run_ids)})" if len(run_ids) > 1 else group)
        figure.add_trace(
            go.Scatter(
                x=stats["epoch"],
                y=stats["mean"],
                mode="lines+markers",
                name=name,
                legendgroup=group,
                line=dict(color=line),
            )
        )
    epoch_axis(figure, None if rows.empty else float(rows["epoch"].max()))
    name = label or metric.replace("_", " ")
    figure.update_yaxes(title=name)
    return apply_layout(legend_below(figure), f"{name[:1].upper()}{name[1:]} per epoch", height=420)  # full width


SHORT_LABEL = 14  # setup labels up to this long name their bars; longer ones are lettered, spelled out in the legend


def gain_figure(gains: pd.DataFrame) -> go.Figure:
    """Bars of each setup's gain over its baseline in percentage points, with standard-error whiskers. Short setup
    labels name their bars; when any is long, the bars are lettered A, B, … (upright) and the legend below spells
    each letter out (hover too)."""
    figure = go.Figure()
    labels = [escape_html(setup) for setup in gains["setup"]] if not gains.empty else []
    lettered = any(len(str(setup)) > SHORT_LABEL for setup in gains.get("setup", []))
    for index, (label, gain, error) in enumerate(
        zip(labels, gains.get("gain (pts)", []), gains.get("± s.e. (pts)", pd.Series(dtype=float)).fillna(0.0))
    ):
        bar = _letter(index) if lettered else label
        figure.add_trace(
            go.Bar(
                x=[bar],
                y=[gain],
                name=f"{bar}: {label}" if lettered else label,
                showlegend=lettered,
                error_y=dict(type="data", array=[error], visible=bool(error > 0)),
                marker_color=colour(2) if gain >= 0 else colour(3),
                hovertemplate=f"{label}: %{{y:+.2f}} pts<extra></extra>",
            )
        )
    figure.add_hline(y=0, line=dict(color="grey", width=1))
    figure.update_xaxes(tickangle=0)
    figure.update_yaxes(title="gain over baseline (pts)")
    height = 340 + (22 * len(labels) if lettered else 0)  # the legend's rows below
    return apply_layout(legend_below(figure), "Gain over the baseline student", height=height)


def _letter(index: int) -> str:
    """A, B, …, Z, AA, AB, …: a short name for the index-th bar."""
    return _letter(index // 26 - 1) + chr(ord("A") + index % 26) if index >= 26 else chr(ord("A") + index)


def accuracy_size_figure(points: pd.DataFrame) -> go.Figure:
    """Test accuracy against model size (columns `label`, `size_kb`, `test_acc`), the Pareto front joined. Each
    label is written once per size (seeds of one setup share it), beside its best point, alternating right and left
    among labels at the same size; the log size axis has explicit 1-2-5 ticks."""
    from ..quant.report import pareto_front

    figure = go.Figure()
    if not points.empty:
        on_front = pareto_front(list(zip(points["size_kb"], points["test_acc"])))
        figure.add_trace(
            go.Scatter(
                x=points["size_kb"],
                y=points["test_acc"],
                mode="markers+text",
                text=[escape_html(text) for text in _point_texts(points)],
                textposition=_text_sides(points),
                cliponaxis=False,
                hovertext=[escape_html(label) for label in points["label"]],
                hovertemplate="%{hovertext}: %{y:.1%} at %{x:.3g} KB<extra></extra>",
                name="runs",
                marker=dict(size=10, color=[colour(3) if f else colour(0) for f in on_front]),
            )
        )
        front = points[on_front].sort_values("size_kb")
        figure.add_trace(
            go.Scatter(
                x=front["size_kb"],
                y=front["test_acc"],
                mode="lines",
                name="Pareto front",
                line=dict(color=colour(3), dash="dot"),
            )
        )
        low, high = float(points["size_kb"].min()), float(points["size_kb"].max())
        ticks = size_ticks(low, high)
        figure.update_xaxes(
            tickvals=ticks,
            ticktext=[f"{tick:g}" for tick in ticks],
            range=[math.log10(low) - 0.35, math.log10(high) + 0.35],  # room for the labels beside the end points
        )
    figure.update_xaxes(title="student size (KB, log scale)", type="log")
    figure.update_yaxes(title="test accuracy", tickformat=".0%")
    figure.update_layout(showlegend=False)
    return apply_layout(figure, "Accuracy versus size (red: Pareto front)", height=380)


def size_ticks(low: float, high: float) -> list[float]:
    """Explicit ticks for a log size axis from `low` to `high`: the 1-2-5 values of each decade within a little of
    the range (a label per tick, not "2 3 … 9 100 2"); when fewer than two fall there, the ends themselves."""
    first, last = math.floor(math.log10(low / 1.5)), math.ceil(math.log10(high * 1.5))
    ticks = [
        step * 10.0**decade
        for decade in range(first, last + 1)
        for step in (1, 2, 5)
        if low / 1.5 <= step * 10.0**decade <= high * 1.5
    ]
    if len(ticks) > 8:  # several decades: their powers of ten only
        ticks = [tick for tick in ticks if f"{tick:g}".lstrip("0.").startswith("1")]
    return ticks if len(ticks) >= 2 else sorted({float(f"{low:.3g}"), float(f"{high:.3g}")})


def _point_texts(points: pd.DataFrame) -> list[str]:
    """Each label once per size: on the most accurate of the points sharing it, the others unlabelled."""
    return [label if index in _labelled(points) else "" for index, label in points["label"].items()]


def _labelled(points: pd.DataFrame) -> pd.Index:
    """The rows that carry their label: the most accurate point of each label and size."""
    ordered = points.sort_values("test_acc", ascending=False)
    return ordered.index[~ordered.duplicated(["label", "size_kb"])]


def _text_sides(points: pd.DataFrame) -> list[str]:
    """Labels at one size alternate right and left of their points (by accuracy), so neighbours do not meet."""
    labelled = points.loc[_labelled(points)]
    rank = labelled.groupby("size_kb")["test_acc"].rank(method="first", ascending=False).astype(int)
    return ["middle left" if rank.get(index, 1) % 2 == 0 else "middle right" for index in points.index]


def generation_chain_figure(chains: pd.DataFrame, teacher_accs: dict[str, float] | None = None) -> go.Figure:
    """Final test accuracy per generation of each chain (a `generations.chain_table`), with each chain's first
    teacher as a dashed line where its accuracy is known (`teacher_accs`: chain label → accuracy)."""
    figure = go.Figure()
    for index, (label, rows) in enumerate(chains.groupby("chain", sort=False)):
        figure.add_trace(
            go.Scatter(
                x=rows["generation"],
                y=rows["test acc"],
                mode="lines+markers",
                name=escape_html(label),
                line=dict(color=colour(index)),
                text=[escape_html(run) for run in rows["run"]],
                hovertemplate="%{text}<br>generation %{x}: %{y:.2%}<extra></extra>",
            )
        )
        teacher = (teacher_accs or {}).get(label)
        if teacher is not None:
            figure.add_hline(
                y=teacher,
                line=dict(color=colour(index), dash="dash"),
                annotation_text=f"teacher of generation 1 ({teacher:.1%})",
            )
    figure.update_xaxes(title="generation (each taught by the one before)", dtick=1)
    figure.update_yaxes(title="final test accuracy", tickformat=".0%")
    return apply_layout(figure, "Sequential FEED: accuracy along the generation chain", height=360)


def class_accuracy_figure(table: pd.DataFrame, class_names: tuple[str, ...] | list[str]) -> go.Figure:
    """Grouped bars of each setup's test accuracy per class (from `comparison.class_accuracy_table`); classes a
    setup never saw in training are outlined and named in its hover text."""
    figure = go.Figure()
    for index, (setup, rows) in enumerate(table.groupby("setup", sort=False)):
        names = [class_names[c] if c < len(class_names) else str(c) for c in rows["class"]]
        figure.add_trace(
            go.Bar(
                x=names,
                y=rows["accuracy"],
                name=escape_html(setup),
                marker_color=colour(index),
                marker_line=dict(width=[3 if omitted else 0 for omitted in rows["omitted"]], color="black"),
                customdata=["never seen in training" if omitted else "" for omitted in rows["omitted"]],
                hovertemplate="%{x}: %{y:.1%} %{customdata}<extra>" + escape_html(setup) + "</extra>",
            )
        )
    figure.update_layout(barmode="group", legend=dict(orientation="h", y=-0.25))
    figure.update_yaxes(title="test accuracy", tickformat=".0%", range=[0, 1])
    return apply_layout(figure, "Test accuracy per class (outlined: never seen in training)", height=380)
