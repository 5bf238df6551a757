"""Dash app: token hit rate and savings per day for one tenant."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import plotly.graph_objects as go
from dash import Dash, Input, Output, dcc, html
from plotly.subplots import make_subplots
from sqlalchemy import Engine

from store.queries import daily_hit_rate_and_savings, event_bounds
from store.tenants import find_tenant


def daily_figure(rows: list[dict[str, Any]]) -> go.Figure:
    """Token hit rate (line, left axis) and savings (bars, right axis) per day."""
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    days = [r["day"] for r in rows]
    currency = next((r["currency"] for r in rows if r["currency"]), "USD")
    figure.add_trace(
        go.Bar(
            name=f"savings ({currency})",
            x=days,
            y=[float(r["savings"]) if r["savings"] is not None else None for r in rows],
            marker_color="#7fb77e",
            opacity=0.7,
        ),
        secondary_y=True,
    )
    figure.add_trace(
        go.Scatter(
            name="token hit rate",
            x=days,
            y=[r["token_hit_rate"] for r in rows],
            mode="lines+markers",
            line={"color": "#1f5fa8", "width": 3},
        ),
        secondary_y=False,
    )
    figure.update_yaxes(
        title_text="token hit rate", tickformat=".0%", range=[0, 1], secondary_y=False
    )
    figure.update_yaxes(title_text=f"savings ({currency})", secondary_y=True)
    figure.update_layout(
        margin={"l": 60, "r": 60, "t": 30, "b": 40},
        legend={"orientation": "h"},
        template="plotly_white",
        height=420,
    )
    return figure


def create_dashboard(engine: Engine, tenant_name: str, prefix: str = "/dashboard/") -> Dash:
    """The dashboard for `tenant_name`, served under `prefix`."""
    app = Dash(__name__, requests_pathname_prefix=prefix, title="cachemeter")
    today = datetime.now(UTC).date()
    app.layout = html.Div(
        [
            html.H2("cachemeter — prompt cache hit rate and savings"),
            html.Div(f"tenant: {tenant_name}", id="tenant"),
            dcc.DatePickerRange(
                id="range",
                start_date=(today - timedelta(days=13)).isoformat(),
                end_date=today.isoformat(),
                display_format="YYYY-MM-DD",
            ),
            html.Div(id="headline", style={"margin": "12px 0", "fontSize": "18px"}),
            dcc.Graph(id="daily"),
        ],
        style={"fontFamily": "system-ui, sans-serif", "maxWidth": "1100px", "margin": "auto"},
    )

    @app.callback(
        Output("daily", "figure"),
        Output("headline", "children"),
        Input("range", "start_date"),
        Input("range", "end_date"),
    )
    def update(start_date: str | None, end_date: str | None) -> tuple[go.Figure, str]:
        return render_daily(engine, tenant_name, start_date, end_date)

    return app


def render_daily(
    engine: Engine, tenant_name: str, start_date: str | None, end_date: str | None
) -> tuple[go.Figure, str]:
    """The figure and headline for a date range (whole UTC days, end inclusive)."""
    with engine.connect() as conn:
        tenant = find_tenant(conn, tenant_name)
        if tenant is None:
            return daily_figure([]), f"no tenant named {tenant_name!r} yet"
        if not start_date or not end_date:
            bounds = event_bounds(conn, tenant.id)
            if bounds is None:
                return daily_figure([]), "no usage recorded yet"
            start_date, end_date = bounds[0].date().isoformat(), bounds[1].date().isoformat()
        start = datetime.combine(date.fromisoformat(start_date[:10]), time(), UTC)
        end = datetime.combine(date.fromisoformat(end_date[:10]) + timedelta(days=1), time(), UTC)
        rows = daily_hit_rate_and_savings(conn, tenant.id, start, end)
    if not rows:
        return daily_figure([]), "no usage in this range"
    requests = sum(r["requests"] for r in rows)
    savings = sum((r["savings"] for r in rows if r["savings"] is not None), start=0)
    currency = next((r["currency"] for r in rows if r["currency"]), "")
    return daily_figure(rows), f"{requests:,} requests · savings {savings:,.4f} {currency}"
