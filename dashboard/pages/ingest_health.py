"""Ingest health: records refused at ingest, by source and by reason class with a sample error
each, and the stored requests left unpriced with the commands that price them (the body of GET
/v1/ingest/rejections), beside the requests stored in the range."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, html
from sqlalchemy import Connection

from dashboard.context import Context
from dashboard.pages.common import card, moment_text, table
from reports.rejections import ingest_rejections
from reports.views import view_totals
from store.analytics import Filters

PATH, TITLE, NAME = "/ingest-health", "Ingest health", "ingest-health"
# Only the dates of the filter bar apply: refused records have no provider, model, app or team.
FILTERS = "dates"


def layout(values: dict[str, str]) -> html.Div:
    """Cards and two tables, filled by the callback."""
    return html.Div(
        [
            html.Div(id="ih-cards", className="cards"),
            html.P(
                "Rejections are counted when they arrive, per reason class since it was first"
                " seen; a class is listed when it was seen in the range. Refused records have no"
                " provider, model, app or team, so only the dates apply here. Stored requests"
                " count every source, by the time each request happened.",
                className="note",
            ),
            html.Div([html.H3("Rejected by source"), html.Div(id="ih-sources")], className="panel"),
            html.Div(
                [html.H3("Recent rejections"), html.Div(id="ih-rejections")], className="panel"
            ),
            html.Div(
                [
                    html.H3("Unpriced requests (stored, without a cost)"),
                    html.Div(id="ih-unpriced"),
                ],
                className="panel",
            ),
        ]
    )


def health(conn: Connection, tenant_id: int, f: Filters) -> tuple[list[Any], Any, Any, Any]:
    """The cards, the per-source table, the rejections table and the unpriced table."""
    body = ingest_rejections(conn, tenant_id, f.start, f.end)
    stored = view_totals(conn, tenant_id, Filters(f.start, f.end)).counts["requests"]
    rejected = sum(s["rejected"] for s in body["by_source"])
    cards = [
        card("ih-stored", "Stored requests (all sources)", f"{stored:,}"),
        card("ih-rejected", "Rejected records", f"{rejected:,}"),
        card("ih-reasons", "Reason classes", f"{len(body['rejections']):,}"),
        card(
            "ih-unpriced-count",
            "Unpriced requests",
            f"{sum(u['requests'] for u in body['unpriced']):,}",
        ),
    ]
    sources = table(
        "ih-source-table",
        ["source", "rejected", "reason classes", "last seen (UTC)"],
        [
            [
                s["source"],
                f"{s['rejected']:,}",
                s["reasons"],
                moment_text(s["last_seen"], seconds=True),
            ]
            for s in body["by_source"]
        ],
        "No record was rejected in this range.",
    )
    rejections = table(
        "ih-rejection-table",
        ["source", "reason", "count", "first seen", "last seen", "field", "latest error"],
        [
            [
                r["source"],
                r["reason"],
                f"{r['count']:,}",
                moment_text(r["first_seen"], seconds=True),
                moment_text(r["last_seen"], seconds=True),
                r["sample_field"],
                r["sample_error"],
            ]
            for r in body["rejections"]
        ],
        "No record was rejected in this range.",
    )
    unpriced = table(
        "ih-unpriced-table",
        ["provider", "model", "reason", "requests", "last seen", "to price them"],
        [
            [
                u["provider"],
                u["model"],
                u["reason"],
                f"{u['requests']:,}",
                moment_text(u["last_seen"], seconds=True),
                html.Code(u["fix"]),
            ]
            for u in body["unpriced"]
        ],
        "Every stored request in this range is priced.",
    )
    return cards, sources, rejections, unpriced


def register(app: Dash, context: Context) -> None:
    """The page's one callback: the range follows the URL."""

    @app.callback(
        Output("ih-cards", "children"),
        Output("ih-sources", "children"),
        Output("ih-rejections", "children"),
        Output("ih-unpriced", "children"),
        Input("url", "search"),
    )
    def update(search: str | None) -> tuple[list[Any], Any, Any, Any]:
        tenant_id, f = context.tenant_id(), context.filters(search)
        with context.connect() as conn:
            return health(conn, tenant_id, f)
