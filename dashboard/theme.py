"""One light, consistent look: figure template, number formats, empty states (money is
reports.formatting's, shared with the CLI)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from dash import dcc

COLORS = ["#1f5fa8", "#e07b39", "#3a9d5d", "#b8455b", "#7a5aa6", "#8c6d31", "#4aa3b5", "#c4a000"]
PART_COLORS = {
    "uncached input": "#9bb7d4",
    "cache read": "#3a9d5d",
    "cache write 5m": "#e0a339",
    "cache write 1h": "#c46a2b",
    "output": "#1f5fa8",
    "tool fees": "#5b6b7a",
    "storage": "#7a5aa6",
}


def base_figure(height: int = 340) -> go.Figure:
    """An empty figure in the house style."""
    figure = go.Figure()
    figure.update_layout(
        template="plotly_white",
        height=height,
        colorway=COLORS,
        margin={"l": 60, "r": 30, "t": 30, "b": 40},
        legend={"orientation": "h", "y": -0.2},
        font={"size": 12},
    )
    return figure


def empty(message: str, height: int = 340) -> go.Figure:
    """A figure that says why there is nothing to show."""
    figure = base_figure(height)
    figure.add_annotation(
        text=message,
        showarrow=False,
        font={"size": 14, "color": "#666"},
        xref="paper",
        yref="paper",
        x=0.5,
        y=0.5,
    )
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return figure


def pct(value: float | None, digits: int = 1) -> str:
    """0.4321 -> "43.2%"."""
    return "n/a" if value is None else f"{value * 100:.{digits}f}%"


def ms(value: float | None) -> str:
    """A duration in milliseconds."""
    return "n/a" if value is None else f"{value:,.0f} ms"


# Plotly's tool bar comes with the pointer, not over every chart (and never over an empty one).
GRAPH_CONFIG: Any = {"displayModeBar": "hover", "displaylogo": False}


def graph(graph_id: str) -> dcc.Graph:
    """A chart placeholder, filled by a page callback."""
    return dcc.Graph(id=graph_id, config=GRAPH_CONFIG)


def time_axis(figure: go.Figure, bucket: str) -> None:
    """The x axis of a chart bucketed by hour or day (UTC)."""
    if bucket == "hour":
        figure.update_xaxes(title_text="hour (UTC)", tickformat="%b %d %H:%M")
    else:
        figure.update_xaxes(title_text="day (UTC)", tickformat="%b %d", dtick=86_400_000)


def step_line(**trace: Any) -> go.Scatter:
    """A line over bucketed values: flat across each bucket, a step at its edge (not a
    diagonal from one bucket's start to the next)."""
    return go.Scatter(mode="lines", line_shape="hv", **trace)
