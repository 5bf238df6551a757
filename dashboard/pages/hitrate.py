"""Hit rate: token and request hit rate over time by a dimension, regressions, miss causes, the
hour x weekday heatmap per provider, and the prefixes that saved or lost the most money."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import plotly.graph_objects as go
from dash import Dash, Input, Output, dcc, html

from dashboard import theme
from dashboard.context import Context
from dashboard.errors import choice
from dashboard.filters import bucket_of
from dashboard.pages.common import table
from dashboard.pages.regression_marks import mark
from reports.formatting import money
from reports.prefixes import FOLD_SHARE, TOP_PREFIXES, prefix_lines
from reports.regressions import regressions
from reports.totals import request_hit_rate, token_hit_rate
from store.analytics import Filters, heatmap, misses, series
from store.models import DIMENSIONS

PATH, TITLE, NAME = "/hit-rate", "Hit rate", "hitrate"
GROUPS = DIMENSIONS
MEASURES = ("token", "request")
MISS_LABELS = {
    "below_minimum": "below minimum length",
    "first_write": "first write of a prefix",
    "prefix_changed": "prefix changed",
    "ttl_expired": "TTL gap (likely expired)",
    "other": "no inferable cause",
}
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def layout(values: dict[str, str]) -> html.Div:
    """Controls and panels, filled by the callback."""
    return html.Div(
        [
            html.Div(
                [
                    html.Div(
                        [
                            html.Label("Split by", htmlFor="hit-group"),
                            dcc.Dropdown(
                                id="hit-group",
                                options=list(GROUPS),
                                value="provider",
                                clearable=False,
                            ),
                        ],
                        className="filter",
                    ),
                    html.Div(
                        [
                            html.Label("Measure", htmlFor="hit-measure"),
                            dcc.RadioItems(
                                id="hit-measure",
                                value="token",
                                inline=True,
                                options=[
                                    {"label": " token", "value": "token"},
                                    {"label": " request", "value": "request"},
                                ],
                            ),
                        ],
                        className="filter",
                    ),
                ],
                className="filter-bar",
            ),
            html.Div(
                [
                    html.H3(
                        "Hit rate (▼ a regression the service detected, with its cause and cost)"
                    ),
                    theme.graph("hit-series"),
                ],
                className="panel",
            ),
            html.Div(
                [
                    html.Div(
                        [html.H3("Why requests missed the cache"), theme.graph("hit-misses")],
                        className="panel",
                    ),
                    html.Div(
                        [
                            html.H3("Token hit rate by hour of day and weekday"),
                            dcc.Dropdown(id="hit-heat-provider", placeholder="provider"),
                            theme.graph("hit-heatmap"),
                        ],
                        className="panel",
                    ),
                ],
                className="grid2",
            ),
            html.Div(
                [
                    html.H3("Prefixes by money saved or lost (prefix_hash, else prompt_cache_key)"),
                    html.P(
                        "Savings are the cost without caching minus the cost: negative where "
                        "the cache cost money (writes never read). Per currency, largest "
                        f"either way first; up to {TOP_PREFIXES}, and a prefix under "
                        f"{FOLD_SHARE:.0%} of the currency's savings and losses together is "
                        "counted in 'N other prefixes' (those that lost money in a line of "
                        "their own), whose sums are theirs. Unpriced prefixes come last, by "
                        "input tokens.",
                        className="note",
                        id="hit-prefix-note",
                    ),
                    html.Div(id="hit-prefixes"),
                ],
                className="panel",
            ),
        ]
    )


def by_group(conn: Any, tenant_id: int, f: Filters, group: str, measure: str) -> go.Figure:
    """Hit rate per hour (up to a week) or day for the eight largest groups, with regression
    markers."""
    bucket = bucket_of(f)
    rows = series(conn, tenant_id, f, bucket, group)
    if not rows:
        return theme.empty("No requests in this range and filter.")
    num: dict[Any, dict[Any, int]] = defaultdict(lambda: defaultdict(int))
    den: dict[Any, dict[Any, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        key = row.group if row.group is not None else "(none)"
        num[key][row.bucket] += int(
            row.cache_read_tokens if measure == "token" else row.hit_requests
        )
        den[key][row.bucket] += int(row.input_tokens if measure == "token" else row.requests)
    largest = sorted(den, key=lambda k: -sum(den[k].values()))[:8]
    figure = theme.base_figure(380)
    for key in largest:
        days = sorted(den[key])
        rate = token_hit_rate if measure == "token" else request_hit_rate
        points = [(d, rate(num[key][d], den[key][d])) for d in days]
        figure.add_trace(theme.step_line(x=days, y=[p[1] for p in points], name=str(key)))
    label = (
        "cache-read tokens / input tokens"
        if measure == "token"
        else "requests with a cache read / requests"
    )
    figure.update_yaxes(title_text=label, tickformat=".0%", range=[0, 1.02])
    mark(figure, regressions(conn, tenant_id, f.start, f.end), f)
    theme.time_axis(figure, bucket, f.zone)
    return figure


def miss_figure(conn: Any, tenant_id: int, f: Filters) -> go.Figure:
    """Requests without a cache read, by cause."""
    counts = misses(conn, tenant_id, f)
    if not sum(counts.values()):
        return theme.empty("No cache misses in this range (or no requests).")
    labels = [MISS_LABELS[k] for k in counts]
    figure = theme.base_figure()
    figure.add_trace(
        go.Bar(
            x=list(counts.values()),
            y=labels,
            orientation="h",
            marker_color="#e07b39",
            text=list(counts.values()),
            textposition="auto",
        )
    )
    figure.update_xaxes(title_text="requests without a cache read")
    return figure


def heat_figure(
    conn: Any, tenant_id: int, f: Filters, provider: str | None
) -> tuple[go.Figure, list[str], str | None]:
    """Token hit rate per (weekday, hour) for one provider."""
    rows = heatmap(conn, tenant_id, f)
    providers = sorted({r.provider for r in rows})
    if not rows:
        return theme.empty("No requests in this range."), providers, provider
    chosen = provider if provider in providers else providers[0]
    grid: list[list[float | None]] = [[None] * 24 for _ in range(7)]
    for row in rows:
        if row.provider == chosen and row.input_tokens:
            grid[int(row.dow) - 1][int(row.hour_of_day)] = token_hit_rate(
                row.cache_read_tokens, row.input_tokens
            )
    figure = theme.base_figure()
    figure.add_trace(
        go.Heatmap(
            z=grid,
            x=list(range(24)),
            y=WEEKDAYS,
            zmin=0,
            zmax=1,
            colorscale="Blues",
            colorbar={"title": "hit rate", "tickformat": ".0%"},
            hovertemplate=f"%{{y}} %{{x}}:00 {f.zone}: %{{z:.1%}}<extra></extra>",
        )
    )
    figure.update_xaxes(title_text=f"hour of day ({f.zone})", dtick=2)
    figure.update_yaxes(autorange="reversed")
    return figure, providers, chosen


def prefix_table(conn: Any, tenant_id: int, f: Filters) -> Any:
    """The prefixes that saved or lost the most money, the small ones folded (reports.prefixes)."""
    rows = [
        (
            line.label,
            line.app or "",
            line.model or "",
            money(line.savings, line.currency),
            money(line.cost, line.currency),
            money(line.nocache_cost, line.currency),
            f"{line.requests:,}",
            theme.pct(request_hit_rate(line.hit_requests, line.requests)),
            theme.pct(token_hit_rate(line.cache_read_tokens, line.input_tokens)),
            f"{line.input_tokens:,}",
        )
        for line in prefix_lines(conn, tenant_id, f)
    ]
    return table(
        "hit-prefix-table",
        # Ranked by savings, which it shows first.
        [
            "prefix",
            "app",
            "model",
            "savings",
            "cost",
            "cost without caching",
            "requests",
            "request hit rate",
            "token hit rate",
            "input tokens",
        ],
        rows,
        "No requests carried a prefix_hash or prompt_cache_key in this range.",
    )


def register(app: Dash, context: Context) -> None:
    """One callback for the page."""

    @app.callback(
        Output("hit-series", "figure"),
        Output("hit-misses", "figure"),
        Output("hit-heatmap", "figure"),
        Output("hit-heat-provider", "options"),
        Output("hit-heat-provider", "value"),
        Output("hit-prefixes", "children"),
        Input("url", "search"),
        Input("hit-group", "value"),
        Input("hit-measure", "value"),
        Input("hit-heat-provider", "value"),
    )
    def update(
        search: str | None, group: str | None, measure: str | None, provider: str | None
    ) -> tuple[Any, ...]:
        group = choice(group, GROUPS, "hit-group")
        measure = choice(measure, MEASURES, "hit-measure")
        tenant_id, f = context.tenant_id(), context.filters(search)
        with context.connect() as conn:
            heat, providers, chosen = heat_figure(conn, tenant_id, f, provider)
            return (
                by_group(conn, tenant_id, f, group, measure),
                miss_figure(conn, tenant_id, f),
                heat,
                providers,
                chosen,
                prefix_table(conn, tenant_id, f),
            )
