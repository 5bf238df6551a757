"""Regressions: every hit-rate and cached-TTFT regression the service detected in the range,
open ones first, with cause, baseline against now, cost a day and a link to the hit-rate view."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from dash import Dash, Input, Output, dcc, html
from sqlalchemy import Connection

from dashboard import theme
from dashboard.context import Context
from dashboard.pages.common import card, moment_text, page_href
from dashboard.pages.regression_marks import (
    cause_text,
    cost_text,
    hit_rate_query,
    in_view,
    kind_text,
)
from reports.formatting import money
from reports.regressions import open_costs, regressions
from store.analytics import Filters

PATH, TITLE, NAME = "/regressions", "Regressions", "regressions"
HEADER = (
    "status",
    "kind",
    "app",
    "model",
    "cache key",
    "likely cause",
    "opened ({zone})",
    "closed ({zone})",
    "baseline → now",
    "cost a day",
    "",
)


def layout(values: dict[str, str]) -> html.Div:
    """Cards and the table, filled by the callback."""
    return html.Div(
        [
            html.Div(id="rg-cards", className="cards"),
            html.P(
                "A regression opens when a key's hit rate (or cached TTFT) is credibly worse than"
                " its baseline, and closes when it is back near it or is acknowledged. Cost a"
                " day: the reads lost at the input rate and the rewrites at the write premium,"
                " at the recent pace. Cache-key regressions are parts of their app's.",
                className="note",
            ),
            html.Div([html.H3("Regressions"), html.Div(id="rg-table")], className="panel"),
        ]
    )


def _values(regression: dict[str, Any]) -> str:
    if regression["kind"] == "hit_rate":
        return f"{theme.pct(regression['baseline'])} → {theme.pct(regression['recent'])}"
    return f"{theme.ms(regression['baseline'])} → {theme.ms(regression['recent'])}"


def _status(regression: dict[str, Any]) -> str:
    if regression["closed_at"] is None:
        return "open"
    acknowledged = (regression.get("details") or {}).get("acknowledged_at")
    return "acknowledged" if acknowledged else "closed"


def listed(conn: Connection, tenant_id: int, f: Filters) -> list[dict[str, Any]]:
    """The view's regressions: open first, then newest opened first."""
    found = [r for r in regressions(conn, tenant_id, f.start, f.end) if in_view(r, f)]
    # Open first, newest first, an app's own regression before its cache keys'.
    found.sort(key=lambda r: r["scope"] != "app_model")
    found.sort(key=lambda r: datetime.fromisoformat(r["opened_at"]), reverse=True)
    found.sort(key=lambda r: r["closed_at"] is not None)
    return found


def _row(regression: dict[str, Any], zone: str) -> html.Tr:
    status = _status(regression)
    cells: list[Any] = [
        html.Span(status, className=f"status status-{status}"),
        kind_text(regression),
        regression["app"] or "(no app)",
        f"{regression['provider']} / {regression['model']}",
        regression["cache_key"] or "(app-wide)",
        cause_text(regression),
        moment_text(regression["opened_at"], zone=zone),
        moment_text(regression["closed_at"], zone=zone),
        _values(regression),
        cost_text(regression) or "n/a",
        dcc.Link("hit rate", href=page_href(f"/hit-rate{hit_rate_query(regression, zone)}")),
    ]
    return html.Tr([html.Td(c) for c in cells])


def view(conn: Connection, tenant_id: int, f: Filters) -> tuple[list[Any], Any]:
    """The cards and the table of the view."""
    found = listed(conn, tenant_id, f)
    open_now = [r for r in found if r["closed_at"] is None]
    costs: dict[str, Decimal] = {}
    rows = [{**r, "tenant_id": tenant_id} for r in open_now]
    for (_, _, _, currency), amount in open_costs(rows).items():
        costs[currency] = costs.get(currency, Decimal(0)) + amount
    cost = " + ".join(f"{money(v, c)}/day" for c, v in sorted(costs.items())) or "n/a"
    cards = [
        card("rg-open", "Open regressions", f"{len(open_now):,}"),
        card("rg-cost", "Open: cost a day", cost),
        card("rg-all", "In this range", f"{len(found):,}"),
    ]
    if not found:
        return cards, html.Div(
            "No regression in this range and filter.", id="rg-regressions", className="note"
        )
    table = html.Table(
        [
            html.Thead(html.Tr([html.Th(h.format(zone=f.zone)) for h in HEADER])),
            html.Tbody([_row(r, f.zone) for r in found]),
        ],
        id="rg-regressions",
        className="data",
    )
    return cards, table


def register(app: Dash, context: Context) -> None:
    """The page's one callback: the range and filters follow the URL."""

    @app.callback(
        Output("rg-cards", "children"),
        Output("rg-table", "children"),
        Input("url", "search"),
    )
    def update(search: str | None) -> tuple[list[Any], Any]:
        tenant_id, f = context.tenant_id(), context.filters(search)
        with context.connect() as conn:
            return view(conn, tenant_id, f)
