"""One light, consistent look: figure template, number formats, empty states (money is
reports.formatting's, shared with the CLI)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

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


def wall_clock(value: Any, zone: str) -> Any:
    """A moment (an aware datetime, or its ISO text) as the wall clock of `zone` reads it; any
    other value as it is. Plotly draws a time as written and drops an offset, so a chart in a
    zone is given that zone's wall-clock times."""
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        return value
    return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def time_axis(figure: go.Figure, bucket: str, zone: str = "UTC") -> None:
    """The x axis of a chart bucketed by hour or day, read in `zone`: every trace's times and
    every marker's (so call it once the chart is drawn)."""
    for trace in figure.data:
        if trace.x is not None:
            trace.x = [wall_clock(x, zone) for x in trace.x]
    for shape in figure.layout.shapes:
        shape.x0, shape.x1 = wall_clock(shape.x0, zone), wall_clock(shape.x1, zone)
    for annotation in figure.layout.annotations:
        annotation.x = wall_clock(annotation.x, zone)
    if bucket == "hour":
        figure.update_xaxes(title_text=f"hour ({zone})", tickformat="%b %d %H:%M")
    else:
        # No dtick: a day is not always 24 hours where clocks change.
        figure.update_xaxes(title_text=f"day ({zone})", tickformat="%b %d")


def step_line(**trace: Any) -> go.Scatter:
    """A line over bucketed values: flat across each bucket, a step at its edge (not a
    diagonal from one bucket's start to the next)."""
    return go.Scatter(mode="lines", line_shape="hv", **trace)
