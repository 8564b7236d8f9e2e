"""Sweeps: the temperature × α grid with its seed noise, the interaction heatmaps, slices, parallel coordinates
and overlaid learning curves (tables from `workbench.interactions`)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..interactions import axis_values, encode_axis, slice_stats
from .style import apply_layout, colour


def grid_heatmap_figure(results: pd.DataFrame, rows: str, columns: str, value: str = "test_acc") -> go.Figure:
    """The mean of `value` over seeds for each (`rows`, `columns`) cell, annotated with mean ± std, beside a
    heatmap of the standard deviation across seeds (the seed noise any difference must beat)."""
    stats = results.groupby([rows, columns])[value].agg(["mean", "std", "count"]).reset_index()
    row_values = sorted(stats[rows].unique())
    column_values = sorted(stats[columns].unique())
    mean = stats.pivot(index=rows, columns=columns, values="mean").reindex(index=row_values, columns=column_values)
    std = stats.pivot(index=rows, columns=columns, values="std").reindex(index=row_values, columns=column_values)
    text = [
        [f"{m:.3f}<br>± {s:.3f}" if s == s else f"{m:.3f}" for m, s in zip(mean_row, std_row)]
        for mean_row, std_row in zip(mean.values, std.values)
    ]
    seeds = int(stats["count"].max()) if len(stats) else 0
    figure = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(f"mean {value} over {seeds} seed(s)", "std across seeds"),
        horizontal_spacing=0.16,
        shared_yaxes=True,  # one row axis: the right map repeats no labels for the left map's colour bar to hit
    )
    labels_x = [str(c) for c in column_values]
    labels_y = [str(r) for r in row_values]
    figure.add_trace(
        go.Heatmap(
            z=mean.values,
            x=labels_x,
            y=labels_y,
            text=text,
            texttemplate="%{text}",
            colorscale="Viridis",
            colorbar=dict(x=0.43, len=0.9, thickness=14),
        ),
        row=1,
        col=1,
    )
    figure.add_trace(
        go.Heatmap(
            z=std.values,
            x=labels_x,
            y=labels_y,
            colorscale="Reds",
            texttemplate="%{z:.3f}",
            colorbar=dict(len=0.9, thickness=14),
        ),
        row=1,
        col=2,
    )
    figure.update_xaxes(title=columns, type="category")
    figure.update_yaxes(title=rows, type="category", row=1, col=1)
    figure.update_yaxes(type="category", row=1, col=2)
    return apply_layout(figure, f"{value} over {rows} × {columns}", height=400)


def _value_text(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def interaction_heatmap_figure(
    stats: pd.DataFrame,
    pairs: pd.DataFrame,
    x: str,
    y: str,
    panel: str | None,
    x_order: list,
    y_order: list,
    metric: str = "test_acc",
) -> go.Figure:
    """One heatmap panel per value of `panel` (one panel when None) of the mean metric over seeds, `x`
    across and `y` up; each cell is annotated mean ± std (n). A "≈" sits between two neighbouring cells
    that differ by less than the seed noise (`interactions.noise_pairs`). One shared colour scale."""
    panels = axis_values(stats, "panel") if len(stats) else [""]
    titles = [f"{panel} = {value}" if panel else "" for value in panels]
    figure = make_subplots(rows=1, cols=len(panels), subplot_titles=titles, shared_yaxes=True, horizontal_spacing=0.04)
    low, high = (stats["mean"].min(), stats["mean"].max()) if len(stats) else (0.0, 1.0)
    for column, value in enumerate(panels, start=1):
        cells = stats[stats["panel"] == value]
        z = np.full((len(y_order), len(x_order)), np.nan)
        text = np.full(z.shape, "", dtype=object)
        for cell in cells.itertuples(index=False):
            i, j = y_order.index(cell.y), x_order.index(cell.x)
            z[i, j] = cell.mean
            spread = f" ± {cell.std:.3f}" if np.isfinite(cell.std) else ""
            text[i, j] = f"{cell.mean:.3f}{spread}<br>n={cell.n}"
        figure.add_trace(
            go.Heatmap(
                z=z,
                x=list(range(len(x_order))),
                y=list(range(len(y_order))),
                text=text,
                texttemplate="%{text}",
                zmin=low,
                zmax=high,
                colorscale="Viridis",
                showscale=column == len(panels),
                name=str(value),
                colorbar=dict(title=metric.replace("_", " ")),
                hovertemplate=f"{x}=%{{customdata[0]}}<br>{y}=%{{customdata[1]}}<br>%{{text}}<extra></extra>",
                customdata=[[[_value_text(xv), _value_text(yv)] for xv in x_order] for yv in y_order],
            ),
            row=1,
            col=column,
        )
        marks = pairs[pairs["panel"] == value] if len(pairs) else pairs
        if len(marks):
            figure.add_trace(
                go.Scatter(
                    x=[(x_order.index(p.x1) + x_order.index(p.x2)) / 2 for p in marks.itertuples()],
                    y=[(y_order.index(p.y1) + y_order.index(p.y2)) / 2 for p in marks.itertuples()],
                    mode="text",
                    text=["≈"] * len(marks),
                    textfont=dict(size=22, color="white"),
                    name="within seed noise",
                    showlegend=column == 1,
                    hovertemplate=[
                        f"differ by {p.difference:.4f} < noise {p.noise:.4f}<extra></extra>" for p in marks.itertuples()
                    ],
                ),
                row=1,
                col=column,
            )
        figure.update_xaxes(
            title=x,
            tickmode="array",
            tickvals=list(range(len(x_order))),
            ticktext=[_value_text(v) for v in x_order],
            row=1,
            col=column,
        )
    figure.update_yaxes(
        title=y,
        tickmode="array",
        tickvals=list(range(len(y_order))),
        ticktext=[_value_text(v) for v in y_order],
        row=1,
        col=1,
    )
    figure.update_layout(legend=dict(orientation="h", y=-0.2))
    return apply_layout(
        figure, f"{metric.replace('_', ' ')}: mean ± std over seeds (≈: neighbours within seed noise)", height=420
    )


def slice_figure(frame: pd.DataFrame, fields: Sequence[str], metric: str = "test_acc") -> go.Figure:
    """One panel per swept field: the metric against that field's values, every other field marginalised
    (mean ± std of all runs at the value, each run as a faint dot)."""
    figure = make_subplots(rows=1, cols=max(1, len(fields)), subplot_titles=list(fields), shared_yaxes=True)
    done = frame.dropna(subset=[metric]) if len(frame) else frame
    for column, field in enumerate(fields, start=1):
        stats = slice_stats(frame, field, metric)
        order = [_value_text(v) for v in axis_values(frame, field)]
        figure.add_trace(
            go.Scatter(
                x=[_value_text(v) for v in done[field]],
                y=done[metric],
                mode="markers",
                marker=dict(color=colour(0), opacity=0.3, size=6),
                showlegend=False,
                hoverinfo="skip",
            ),
            row=1,
            col=column,
        )
        figure.add_trace(
            go.Scatter(
                x=[_value_text(v) for v in stats["value"]],
                y=stats["mean"],
                mode="lines+markers",
                error_y=dict(type="data", array=stats["std"].fillna(0.0)),
                showlegend=False,
                line=dict(color=colour(1)),
                name=field,
            ),
            row=1,
            col=column,
        )
        figure.update_xaxes(type="category", categoryorder="array", categoryarray=order, row=1, col=column)
    figure.update_yaxes(title=metric.replace("_", " "), row=1, col=1)
    return apply_layout(figure, "Slices: one field against accuracy, the others marginalised", height=340)


def parallel_figure(frame: pd.DataFrame, fields: Sequence[str], metric: str = "test_acc") -> go.Figure:
    """Parallel coordinates over the swept fields and the metric, one line per done run, coloured by the metric
    (categorical fields get one tick per value)."""
    done = frame.dropna(subset=[metric]) if len(frame) else frame
    dimensions = []
    for field in fields:
        codes, ticks, labels = encode_axis(done[field].tolist())
        dimensions.append(dict(label=field, values=codes, tickvals=ticks, ticktext=labels))
    dimensions.append(dict(label=metric.replace("_", " "), values=done[metric].tolist()))
    figure = go.Figure(
        go.Parcoords(
            line=dict(color=done[metric].tolist(), colorscale="Viridis", showscale=True), dimensions=dimensions
        )
    )
    return apply_layout(figure, "Parallel coordinates over the swept fields", height=380)


def sweep_curves_figure(curves: pd.DataFrame, colour_by: str | None = None, metric: str = "test_acc") -> go.Figure:
    """Learning curves of a sweep's runs overlaid, coloured by one swept field; a run stopped early (ASHA)
    ends in an ✕ at its last epoch."""
    figure = go.Figure()
    values = list(dict.fromkeys(curves[colour_by])) if colour_by and len(curves) else [None]
    shown: set[str] = set()
    for run_id, run in curves.groupby("run_id", sort=False):
        value = run[colour_by].iloc[0] if colour_by else None
        label = f"{colour_by}={_value_text(value)}" if colour_by else "run"
        line = colour(values.index(value))
        figure.add_trace(
            go.Scatter(
                x=run["epoch"],
                y=run["value"],
                mode="lines",
                name=label,
                legendgroup=label,
                showlegend=label not in shown,
                line=dict(color=line, width=1.2),
                opacity=0.8,
                hovertemplate=f"{run_id}<br>epoch %{{x}}: %{{y:.3f}}<extra></extra>",
            )
        )
        shown.add(label)
        if bool(run["early_stopped"].iloc[0]):
            last = run.iloc[-1]
            figure.add_trace(
                go.Scatter(
                    x=[last["epoch"]],
                    y=[last["value"]],
                    mode="markers",
                    name="stopped early",
                    legendgroup="stopped",
                    showlegend="stopped" not in shown,
                    marker=dict(symbol="x", size=10, color=line),
                )
            )
            shown.add("stopped")
    figure.update_xaxes(title="epoch")
    figure.update_yaxes(title=metric.replace("_", " "))
    return apply_layout(figure, "Learning curves (✕: stopped early)", height=360)
