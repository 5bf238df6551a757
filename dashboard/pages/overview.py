"""Overview: open regressions called out, spend, no-cache cost, savings, hit rates and TTFT for
the range vs the previous equal range, and daily token hit rate (regressions marked) and
savings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import plotly.graph_objects as go
from dash import Dash, Input, Output, dcc, html

from dashboard import theme
from dashboard.context import Context
from dashboard.filters import bucket_of, previous
from dashboard.pages.common import card, change, moment_text, page_href
from dashboard.pages.regression_marks import (
    cause_text,
    cost_text,
    hit_rate_query,
    in_view,
    kind_text,
    mark,
)
from dashboard.stats import percentile
from reports.formatting import money
from reports.regressions import regressions
from reports.totals import main_currency
from reports.views import by_bucket, view_totals
from store.analytics import Filters, ttft_histogram

PATH, TITLE, NAME = "/", "Overview", "overview"


def layout(values: dict[str, str]) -> html.Div:
    """Cards and two charts, filled by the callback."""
    return html.Div(
        [
            html.Div(id="overview-regressions"),
            html.Div(id="overview-cards", className="cards"),
            html.Div(
                [
                    html.Div(
                        [html.H3("Token hit rate"), theme.graph("overview-hit")],
                        className="panel",
                    ),
                    html.Div(
                        [html.H3("Savings"), theme.graph("overview-savings")],
                        className="panel",
                    ),
                ],
                className="grid2",
            ),
        ]
    )


def ttft_p50(conn: Any, tenant_id: int, f: Filters) -> dict[bool, float | None]:
    """Median TTFT of cached and uncached requests."""
    counts: dict[bool, dict[int, int]] = {True: {}, False: {}}
    for row in ttft_histogram(conn, tenant_id, f):
        counts[row.cache_hit][row.bucket] = counts[row.cache_hit].get(row.bucket, 0) + int(
            row.requests
        )
    return {hit: percentile(c, 0.5) for hit, c in counts.items()}


# The headline cards, with and without usage in the range: id -> label.
LABELS = {
    "card-spend": "Spend",
    "card-nocache": "Cost without caching",
    "card-savings": "Savings",
    "card-token-hit": "Token hit rate",
    "card-request-hit": "Request hit rate",
    "card-ttft": "TTFT p50 cached / uncached (change: cached)",
    "card-requests": "Requests",
}


def cards(conn: Any, tenant_id: int, f: Filters) -> list[Any]:
    """The headline cards for `f`, each compared with the previous equal range."""
    now, before = view_totals(conn, tenant_id, f), view_totals(conn, tenant_id, previous(f))
    if not now.counts["requests"]:
        return _no_usage(before.counts["requests"])
    currency = now.currency
    spend, nocache, savings = now.amount("cost"), now.amount("nocache_cost"), now.amount("savings")
    share = float(savings / nocache) if savings is not None and nocache else None
    lat_now, lat_before = ttft_p50(conn, tenant_id, f), ttft_p50(conn, tenant_id, previous(f))
    other = now.other_currencies()
    unpriced = now.counts["unpriced_requests"]
    shown = {
        "card-spend": (
            money(spend, currency),
            change(spend, before.amount("cost"), better="down"),
        ),
        "card-nocache": (
            money(nocache, currency),
            change(nocache, before.amount("nocache_cost"), better=None),
        ),
        "card-savings": (
            f"{money(savings, currency)} ({theme.pct(share)})",
            change(savings, before.amount("savings")),
        ),
        "card-token-hit": (
            theme.pct(now.token_hit_rate),
            change(now.token_hit_rate, before.token_hit_rate, rate=True),
        ),
        "card-request-hit": (
            theme.pct(now.request_hit_rate),
            change(now.request_hit_rate, before.request_hit_rate, rate=True),
        ),
        "card-ttft": (
            f"{theme.ms(lat_now[True])} / {theme.ms(lat_now[False])}",
            change(lat_now[True], lat_before[True], better="down"),
        ),
        "card-requests": (
            f"{now.counts['requests']:,}",
            f"{unpriced:,} unpriced"
            if unpriced
            else change(now.counts["requests"], before.counts["requests"], better=None),
        ),
    }
    labels = dict(LABELS)
    if other:
        labels["card-spend"] += f" (+ charges in {', '.join(other)})"
    return [card(i, labels[i], *shown[i]) for i in LABELS]


def open_regressions(found: list[dict[str, Any]], f: Filters) -> Any:
    """A call-out naming each open app-wide regression of the view, or nothing."""
    open_now = [
        r for r in found if r["closed_at"] is None and r["scope"] == "app_model" and in_view(r, f)
    ]
    if not open_now:
        return None
    items = [
        html.Li(
            [
                html.B(f"{r['app'] or '(no app)'} / {r['model']}"),
                f": {kind_text(r)} regression since"
                f" {moment_text(r['opened_at'], zone=f.zone)} {f.zone},"
                f" {cause_text(r)}",
                f", costs {cost}" if (cost := cost_text(r)) else "",
                " — ",
                dcc.Link("details", href=page_href(f"/hit-rate{hit_rate_query(r, f.zone)}")),
            ]
        )
        for r in open_now
    ]
    title = f"{len(open_now)} open regression{'s' if len(open_now) > 1 else ''}"
    return html.Div(
        [
            html.Div(
                [
                    html.B(title),
                    " ",
                    dcc.Link("all regressions", href=page_href("/regressions")),
                ]
            ),
            html.Ul(items),
        ],
        id="overview-open-regressions",
        className="callout",
    )


def _no_usage(before: int) -> list[Any]:
    """Zeros, saying why, instead of "n/a" on every card."""
    note = f"previous period: {before:,} requests" if before else "no usage in this range"
    zero = money(Decimal(0), None)
    shown = {"card-spend": zero, "card-nocache": zero, "card-savings": zero, "card-requests": "0"}
    return [card(i, label, shown.get(i, "no data"), note) for i, label in LABELS.items()]


def daily(
    conn: Any, tenant_id: int, f: Filters, found: list[dict[str, Any]] | None = None
) -> tuple[go.Figure, go.Figure]:
    """Token hit rate and savings per hour (up to a week) or day."""
    bucket = bucket_of(f)
    days_totals = by_bucket(conn, tenant_id, f, bucket)
    if not any(t.counts["requests"] for t in days_totals):
        message = "No requests in this range and filter: widen the dates or clear a filter."
        return theme.empty(message), theme.empty(message)
    currency = main_currency(days_totals)
    days = [t.key for t in days_totals]
    rate = {t.key: t.token_hit_rate for t in days_totals}
    saved = {t.key: t.amount("savings", currency) or Decimal(0) for t in days_totals}
    hit = theme.base_figure()
    hit.add_trace(theme.step_line(x=days, y=[rate[d] for d in days], name="token hit rate"))
    hit.update_yaxes(title_text="cache-read tokens / input tokens", tickformat=".0%", range=[0, 1])
    mark(hit, found or [], f)
    theme.time_axis(hit, bucket, f.zone)
    bars = theme.base_figure()
    bars.add_trace(
        go.Bar(
            x=days,
            y=[float(saved[d]) for d in days],
            name=f"savings ({currency})",
            marker_color="#3a9d5d",
        )
    )
    bars.update_yaxes(title_text=f"savings ({currency})")
    theme.time_axis(bars, bucket, f.zone)
    return hit, bars


def register(app: Dash, context: Context) -> None:
    """The page's one callback: everything follows the URL's filters."""

    @app.callback(
        Output("overview-regressions", "children"),
        Output("overview-cards", "children"),
        Output("overview-hit", "figure"),
        Output("overview-savings", "figure"),
        Input("url", "search"),
    )
    def update(search: str | None) -> tuple[Any, Any, go.Figure, go.Figure]:
        tenant_id, f = context.tenant_id(), context.filters(search)
        with context.connect() as conn:
            found = regressions(conn, tenant_id, f.start, f.end)
            return (
                open_regressions(found, f),
                cards(conn, tenant_id, f),
                *daily(conn, tenant_id, f, found),
            )
