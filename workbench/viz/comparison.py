"""Comparing runs: curves overlaid with mean ± std bands across seeds, the gain over the baseline student,
accuracy against model size with its Pareto front, and accuracy along a sequential-FEED generation chain.
The tables they draw come from `workbench.comparison` (and `generations.chain_table`)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from ..text import escape_html
from .style import apply_layout, colour, epoch_axis


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
    return apply_layout(figure, f"{name[:1].upper()}{name[1:]} per epoch", height=380)


def gain_figure(gains: pd.DataFrame) -> go.Figure:
    """Bars of each setup's gain over its baseline in percentage points, with standard-error whiskers."""
    figure = go.Figure()
    if not gains.empty:
        errors = gains["± s.e. (pts)"].fillna(0.0)
        figure.add_trace(
            go.Bar(
                x=[escape_html(setup) for setup in gains["setup"]],
                y=gains["gain (pts)"],
                error_y=dict(type="data", array=errors, visible=bool((errors > 0).any())),
                marker_color=[colour(2) if g >= 0 else colour(3) for g in gains["gain (pts)"]],
                hovertemplate="%{x}: %{y:+.2f} pts<extra></extra>",
            )
        )
    figure.add_hline(y=0, line=dict(color="grey", width=1))
    figure.update_yaxes(title="gain over baseline (pts)")
    return apply_layout(figure, "Gain over the baseline student", height=320)


def accuracy_size_figure(points: pd.DataFrame) -> go.Figure:
    """Test accuracy against model size (columns `label`, `size_kb`, `test_acc`), the Pareto front joined."""
    from ..quant.report import pareto_front

    figure = go.Figure()
    if not points.empty:
        on_front = pareto_front(list(zip(points["size_kb"], points["test_acc"])))
        figure.add_trace(
            go.Scatter(
                x=points["size_kb"],
                y=points["test_acc"],
                mode="markers+text",
                text=[escape_html(label) for label in points["label"]],
                textposition="top center",
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
    figure.update_xaxes(title="student size (KB)", type="log")
    figure.update_yaxes(title="test accuracy")
    return apply_layout(figure, "Accuracy versus size (red: Pareto front)", height=380)


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
