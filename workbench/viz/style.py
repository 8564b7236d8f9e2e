"""What every figure shares: the colour palette, thinning of long series, and the title, size and margins."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

MAX_POINTS = 1500  # per trace; longer series are thinned evenly
PALETTE = qualitative.D3


def colour(index: int) -> str:
    """The index-th colour of the workbench palette (plotly's D3 colours, cycling)."""
    return PALETTE[index % len(PALETTE)]


def thin(frame: pd.DataFrame) -> pd.DataFrame:
    """At most about MAX_POINTS evenly spaced rows of `frame`, always keeping its last row."""
    if len(frame) <= MAX_POINTS:
        return frame
    stride = math.ceil(len(frame) / MAX_POINTS)
    return pd.concat([frame.iloc[::stride], frame.iloc[[-1]]]).drop_duplicates()


EPOCH_TICKS_EACH = 20  # up to this many epochs every epoch gets a tick; beyond, about ten upright ticks


def epoch_axis(figure: go.Figure, last_epoch: float | None, title: str = "epoch", **where: int) -> go.Figure:
    """An epoch x axis that stays readable: a tick per epoch for short runs, about ten upright integer ticks for
    long ones (`where` picks a subplot's axis: row=, col=)."""
    if last_epoch is None or last_epoch <= EPOCH_TICKS_EACH:
        figure.update_xaxes(title=title, dtick=1, tickangle=0, **where)
    else:
        figure.update_xaxes(title=title, tickmode="auto", nticks=10, tickformat="d", tickangle=0, **where)
    return figure


def legend_below(figure: go.Figure) -> go.Figure:
    """The legend in rows under the plot, so the plot keeps the figure's whole width (narrow screens, projectors)."""
    figure.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.25, xanchor="left", x=0))
    return figure


def apply_layout(figure: go.Figure, title: str, height: int = 340) -> go.Figure:
    """Title, size and margins, the same for every figure (the legend stays at plotly's place, on the right)."""
    figure.update_layout(title=title, height=height, margin=dict(l=50, r=20, t=60, b=40))
    return figure
