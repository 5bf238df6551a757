"""Latency: TTFT distributions cached vs uncached, p50/p95 per day by model, and the
milliseconds one cached token saves per model (least-squares fit of TTFT on uncached tokens,
with its R²)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import plotly.graph_objects as go
from dash import Dash, Input, Output, html

from dashboard import theme
from dashboard.context import Context
from dashboard.pages.common import table
from dashboard.stats import ms_per_token, percentile, r_squared
from store.analytics import FIT_SUMS, Filters, latency_fit, ttft_histogram
from store.models import TTFT_EDGES_MS

PATH, TITLE, NAME = "/latency", "Latency", "latency"

# Below these a slope is not worth reading: a handful of requests draws a line through
# anything, and where uncached tokens explain under half of TTFT's variation the slope says
# more about the noise than about prefill.
MIN_FIT_REQUESTS = 30
MIN_R_SQUARED = 0.5


def layout(values: dict[str, str]) -> html.Div:
    """Panels, filled by the callback."""
    return html.Div(
        [
            html.Div(
                [
                    html.Div(
                        [
                            html.H3("Time to first token: cached vs uncached"),
                            theme.graph("lat-dist"),
                        ],
                        className="panel",
                    ),
                    html.Div(
                        [
                            html.H3("TTFT p50 and p95 per day, busiest models"),
                            theme.graph("lat-pct"),
                        ],
                        className="panel",
                    ),
                ],
                className="grid2",
            ),
            html.Div(
                [
                    html.H3("Milliseconds saved per cached token"),
                    html.P(
                        "Slope of a least-squares fit of TTFT against uncached input tokens: "
                        "the prefill time each token served from cache avoids. R² is the "
                        "share of TTFT's variation the fit explains; the slope is shown only "
                        f"for a model with at least {MIN_FIT_REQUESTS} requests with TTFT "
                        f"and R² of at least {MIN_R_SQUARED}; else 'too few requests', or "
                        "'no fit' where TTFT varies mostly with something else (queueing, "
                        "network time).",
                        className="note",
                        id="lat-fit-note",
                    ),
                    html.Div(id="lat-fit"),
                ],
                className="panel",
            ),
        ]
    )


# Models drawn one by one on the percentile chart; the rest are merged into "other".
TOP_MODELS = 5
OTHER = "other models"
# Where a log axis of milliseconds gets a labelled tick.
LOG_TICKS_MS = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000)


def _tick(ms: int) -> str:
    return f"{ms // 1000} s" if ms >= 1000 else f"{ms} ms"


def _center(bucket: int) -> float:
    low = TTFT_EDGES_MS[bucket - 1] if bucket > 0 else TTFT_EDGES_MS[0] / 1.25
    high = TTFT_EDGES_MS[bucket] if bucket < len(TTFT_EDGES_MS) else low * 1.25
    return float((low * high) ** 0.5)


def distribution(conn: Any, tenant_id: int, f: Filters) -> go.Figure:
    """Share of requests per TTFT bucket, cached and uncached side by side (log scale)."""
    counts: dict[bool, dict[int, int]] = {True: defaultdict(int), False: defaultdict(int)}
    for row in ttft_histogram(conn, tenant_id, f):
        counts[row.cache_hit][row.bucket] += int(row.requests)
    if not any(counts[True].values()) and not any(counts[False].values()):
        return theme.empty("No request in this range reported a time to first token (ttft_ms).")
    figure = theme.base_figure()
    for hit, name, color in ((True, "cached", "#3a9d5d"), (False, "uncached", "#e07b39")):
        total = sum(counts[hit].values())
        if not total:
            continue
        buckets = sorted(counts[hit])
        figure.add_trace(
            go.Scatter(
                x=[_center(b) for b in buckets],
                y=[counts[hit][b] / total for b in buckets],
                mode="lines",
                line_shape="hvh",
                fill="tozeroy",
                name=f"{name} (p50 {theme.ms(percentile(counts[hit], 0.5))})",
                line={"color": color},
            )
        )
    ticks = [t for t in LOG_TICKS_MS if TTFT_EDGES_MS[0] / 2 <= t <= TTFT_EDGES_MS[-1] * 2]
    figure.update_xaxes(
        type="log",
        title_text="time to first token (log scale)",
        tickvals=ticks,
        ticktext=[_tick(t) for t in ticks],
    )
    figure.update_layout(legend={"orientation": "h", "y": -0.3})
    figure.update_yaxes(title_text="share of requests", tickformat=".0%")
    return figure


def percentiles_by_day(conn: Any, tenant_id: int, f: Filters) -> go.Figure:
    """p50 and p95 TTFT per day for the busiest models, the rest as "other"."""
    rows = ttft_histogram(conn, tenant_id, f, by_model=True, bucket="day")
    volume: dict[str, int] = defaultdict(int)
    for row in rows:
        volume[row.model or "(none)"] += int(row.requests)
    busiest = set(sorted(volume, key=lambda m: (-volume[m], m))[:TOP_MODELS])
    counts: dict[str, dict[Any, dict[int, int]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(int))
    )
    for row in rows:
        model = row.model or "(none)"
        # Percentiles of "other" are over the merged histograms of the rest.
        counts[model if model in busiest else OTHER][row.time][row.bucket] += int(row.requests)
    if not counts:
        return theme.empty("No request in this range reported a time to first token (ttft_ms).")
    figure = theme.base_figure()
    order = sorted(counts, key=lambda m: (m == OTHER, -volume.get(m, 0), m))
    for index, model in enumerate(order):
        days = sorted(counts[model])
        color = theme.COLORS[index % len(theme.COLORS)]
        for q, dash in ((0.5, "solid"), (0.95, "dot")):
            figure.add_trace(
                go.Scatter(
                    x=days,
                    y=[percentile(counts[model][d], q) for d in days],
                    mode="lines",
                    name=f"{model} p{int(q * 100)}",
                    line={"color": color, "dash": dash},
                )
            )
    figure.update_yaxes(title_text="time to first token (ms)", rangemode="tozero")
    # TTFT is rolled up per UTC day, whatever zone the view is read in.
    theme.time_axis(figure, "day")
    return figure


def fit_cells(
    n: float, sx: float, sy: float, sxx: float, sxy: float, syy: float
) -> tuple[str, str]:
    """The "saved per cached token" and "fit (R²)" cells of a model's least-squares sums: the
    slope only where the fit is good enough to read (MIN_FIT_REQUESTS, MIN_R_SQUARED)."""
    if n < MIN_FIT_REQUESTS:
        return "too few requests", "n/a"
    quality = r_squared(n, sx, sy, sxx, sxy, syy)
    slope = ms_per_token(n, sx, sy, sxx, sxy)
    if quality is None or slope is None:
        return "no fit", "n/a"
    shown = f"{quality:.2f}"
    # Judged as shown, so "no fit" never stands beside an R² that reads as the threshold.
    if float(shown) < MIN_R_SQUARED:
        return "no fit", shown
    return f"{slope:.4f} ms", shown


def fits(conn: Any, tenant_id: int, f: Filters) -> Any:
    """Per model: requests with TTFT, mean TTFT, ms saved per cached token and the fit's R²."""
    rows = []
    for row in latency_fit(conn, tenant_id, f):
        n = float(row.fit_n)
        if not n:
            continue
        saved, quality = fit_cells(n, *(float(getattr(row, c)) for c in FIT_SUMS[1:]))
        rows.append(
            (
                row.model or "(none)",
                f"{int(n):,}",
                theme.ms(float(row.fit_sy) / n),
                saved,
                quality,
            )
        )
    return table(
        "lat-fit-table",
        ["model", "requests with TTFT", "mean TTFT", "saved per cached token", "fit (R²)"],
        rows,
        "No request in this range reported a time to first token (ttft_ms).",
    )


def register(app: Dash, context: Context) -> None:
    """One callback for the page."""

    @app.callback(
        Output("lat-dist", "figure"),
        Output("lat-pct", "figure"),
        Output("lat-fit", "children"),
        Input("url", "search"),
    )
    def update(search: str | None) -> tuple[Any, ...]:
        tenant_id, f = context.tenant_id(), context.filters(search)
        with context.connect() as conn:
            return (
                distribution(conn, tenant_id, f),
                percentiles_by_day(conn, tenant_id, f),
                fits(conn, tenant_id, f),
            )
