"""Ingest health: records refused at ingest, by source and by reason class with a sample error
each, and the stored requests left unpriced with the commands that price them (the body of GET
/v1/ingest/rejections), beside the requests stored in the range; and the records refused,
duplicate or in conflict over the range, with the latest conflicts (GET /v1/ingest/outcomes)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from math import ceil
from typing import Any
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
from dash import Dash, Input, Output, html
from sqlalchemy import Connection

from dashboard import theme
from dashboard.context import Context
from dashboard.filters import bucket_of
from dashboard.pages.common import card, moment_text, table
from reports.rejections import ingest_outcomes, ingest_rejections
from reports.views import view_totals
from store.analytics import Filters

PATH, TITLE, NAME = "/ingest-health", "Ingest health", "ingest-health"
# Only the dates of the filter bar apply: refused records have no provider, model, app or team.
FILTERS = "dates"
# The chart's lines: the largest (outcome, source, reason) classes, the rest summed in one.
LINES = 8
DASH = {"rejected": "solid", "duplicate": "dot", "conflict": "dash"}


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
            html.Div(
                [
                    html.H3("Rejected, duplicate and conflicting records over time"),
                    theme.graph("ih-outcomes"),
                    html.P(
                        "Counted per hour they arrived in, by outcome, source and reason: a"
                        " duplicate is a record stored already (retry: sent again; merged: a span"
                        " that completed its call), a conflict one whose request id is stored"
                        " with other usage, model or provider (nothing stored was changed).",
                        className="note",
                    ),
                ],
                className="panel",
            ),
            html.Div([html.H3("Rejected by source"), html.Div(id="ih-sources")], className="panel"),
            html.Div(
                [html.H3("Recent rejections"), html.Div(id="ih-rejections")], className="panel"
            ),
            html.Div(
                [html.H3("Recent conflicts"), html.Div(id="ih-conflicts-recent")],
                className="panel",
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


def bucket_edges(f: Filters, bucket: str) -> list[datetime]:
    """The start of every hour (UTC) or day (of the view's zone) the view touches, in order,
    as the store buckets them, and the end of the last (the chart's x: a bucket with none is
    0)."""
    if bucket == "hour":
        first = f.start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        count = ceil((f.end - first) / timedelta(hours=1))
        return [first + timedelta(hours=n) for n in range(count + 1)]
    zone = ZoneInfo(f.zone)
    # Whole days of the zone, which are 23 or 25 hours where its clocks change.
    day, last = f.start.astimezone(zone).date(), (f.end - timedelta.resolution).astimezone(zone)
    starts = []
    while day <= last.date() + timedelta(days=1):
        starts.append(datetime.combine(day, time(), zone).astimezone(UTC))
        day += timedelta(days=1)
    return starts


def outcomes_figure(body: dict[str, Any], f: Filters) -> go.Figure:
    """A step line per (outcome, source, reason) class: the largest LINES classes, the rest
    summed in one line."""
    if not body["series"]:
        return theme.empty("No record was rejected, duplicate or in conflict in this range.")
    counts: dict[tuple[str, str, str], dict[datetime, int]] = {}
    for point in body["series"]:
        line = counts.setdefault((point["outcome"], point["source"], point["reason"]), {})
        moment = datetime.fromisoformat(point["time"])
        line[moment] = line.get(moment, 0) + point["count"]
    ranked = sorted(counts, key=lambda k: (-sum(counts[k].values()), k))
    rest: dict[datetime, int] = {}
    for key in ranked[LINES:]:
        for moment, n in counts[key].items():
            rest[moment] = rest.get(moment, 0) + n
    lines: list[tuple[str, str, dict[datetime, int]]] = [
        (" · ".join(key), DASH[key[0]], counts[key]) for key in ranked[:LINES]
    ]
    if rest:
        lines.append((f"{len(ranked) - LINES} other classes", "longdashdot", rest))
    bucket = body["bucket"]
    # The last bucket's end too, with its value again, so its step is drawn across it (not a
    # spike at its start).
    x = bucket_edges(f, bucket)
    starts = x[:-1]
    figure = theme.base_figure(380)
    peak = 0
    for name, dash, line in lines:
        y = [line.get(moment, 0) for moment in starts]
        peak = max(peak, *y)
        figure.add_trace(theme.step_line(x=x, y=[*y, y[-1]], name=name, line={"dash": dash}))
    # Whole records: no 0.2 ticks when there are few.
    figure.update_yaxes(
        title_text=f"records per {bucket}", rangemode="tozero", dtick=1 if peak <= 5 else None
    )
    theme.time_axis(figure, bucket, f.zone)
    return figure


def health(conn: Connection, tenant_id: int, f: Filters) -> tuple[Any, ...]:
    """The cards, the outcomes chart, the per-source table, the rejections table, the recent
    conflicts table and the unpriced table."""
    body = ingest_rejections(conn, tenant_id, f.start, f.end)
    outcomes = ingest_outcomes(conn, tenant_id, f.start, f.end, bucket_of(f), zone=f.zone)
    stored = view_totals(conn, tenant_id, Filters(f.start, f.end)).counts["requests"]
    zone = f.zone
    rejected = sum(s["rejected"] for s in body["by_source"])
    totals = outcomes["totals"]
    cards = [
        card("ih-stored", "Stored requests (all sources)", f"{stored:,}"),
        card("ih-rejected", "Rejected records", f"{rejected:,}"),
        card("ih-reasons", "Reason classes", f"{len(body['rejections']):,}"),
        card("ih-duplicates", "Duplicates (stored already)", f"{totals['duplicates']:,}"),
        card("ih-conflicts", "Conflicts (request id reused)", f"{totals['conflicts']:,}"),
        card(
            "ih-unpriced-count",
            "Unpriced requests",
            f"{sum(u['requests'] for u in body['unpriced']):,}",
        ),
    ]
    sources = table(
        "ih-source-table",
        ["source", "rejected", "reason classes", f"last seen ({zone})"],
        [
            [
                s["source"],
                f"{s['rejected']:,}",
                s["reasons"],
                moment_text(s["last_seen"], seconds=True, zone=zone),
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
                moment_text(r["first_seen"], seconds=True, zone=zone),
                moment_text(r["last_seen"], seconds=True, zone=zone),
                r["sample_field"],
                r["sample_error"],
            ]
            for r in body["rejections"]
        ],
        "No record was rejected in this range.",
    )
    conflicts = table(
        "ih-conflict-table",
        [f"last seen ({zone})", "source", "differed", "that hour", "request id", "what it said"],
        [
            [
                moment_text(c["last_seen"], seconds=True, zone=zone),
                c["source"],
                c["reason"],
                f"{c['count']:,}",
                c["request_id"] or "",
                c["differences"] or "",
            ]
            for c in outcomes["recent_conflicts"]
        ],
        "No request id was reused with other usage, model or provider in this range.",
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
                moment_text(u["last_seen"], seconds=True, zone=zone),
                html.Code(u["fix"]),
            ]
            for u in body["unpriced"]
        ],
        "Every stored request in this range is priced.",
    )
    figure = outcomes_figure(outcomes, f)
    return cards, figure, sources, rejections, conflicts, unpriced


def register(app: Dash, context: Context) -> None:
    """The page's one callback: the range follows the URL."""

    @app.callback(
        Output("ih-cards", "children"),
        Output("ih-outcomes", "figure"),
        Output("ih-sources", "children"),
        Output("ih-rejections", "children"),
        Output("ih-conflicts-recent", "children"),
        Output("ih-unpriced", "children"),
        Input("url", "search"),
    )
    def update(search: str | None) -> tuple[Any, ...]:
        tenant_id, f = context.tenant_id(), context.filters(search)
        with context.connect() as conn:
            return health(conn, tenant_id, f)
