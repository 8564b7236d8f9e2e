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


def apply_layout(figure: go.Figure, title: str, height: int = 340) -> go.Figure:
    """Title, size and margins, the same for every figure (the legend stays at plotly's place, on the right)."""
    figure.update_layout(title=title, height=height, margin=dict(l=50, r=20, t=60, b=40))
    return figure
