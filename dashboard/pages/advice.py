"""Advice: the cache advisor's findings for the range and app, largest monthly saving first,
each with what to change and, unfolded, how the saving was computed and its evidence."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dash import Dash, Input, Output, html
from sqlalchemy import Connection

from dashboard.context import Context
from dashboard.pages.common import card
from reports.advice import AdviceSettings, advice
from reports.formatting import money
from store.analytics import Filters
from store.tenants import TenantRef

PATH, TITLE, NAME = "/advice", "Advice", "advice"
HEADER = (
    "#",
    "advice",
    "app",
    "provider / model",
    "cache key or prefix",
    "saves a month",
    "requests",
)
# Each kind of cache.advice.KINDS as people read it.
KIND_LABELS = {
    "add_cache_control": "add cache_control",
    "use_prompt_cache_key": "set a prompt cache key",
    "prefix_changes": "prefix keeps changing",
    "below_minimum": "prompt below the cache minimum",
    "use_1h_ttl": "write with the 1-hour TTL",
    "ttl_too_short": "cache expires too soon",
    "losing_prefix": "caching this prefix loses money",
    "model_does_not_cache": "model does not cache",
}
# The advisor reads per app, provider, model and cache key: provider and model narrow its
# findings like the app does; team and environment are not among what a finding concerns.
MATCHED = ("provider", "model")
UNMATCHED = ("team", "environment")


def layout(values: dict[str, str]) -> html.Div:
    """Cards, the thresholds and the findings, filled by the callback."""
    return html.Div(
        [
            html.Div(id="ad-cards", className="cards"),
            html.P(id="ad-thresholds", className="note"),
            html.Div([html.H3("Advice"), html.Div(id="ad-table")], className="panel"),
        ]
    )


def kind_text(kind: str) -> str:
    """A finding's kind in words (the kind itself for one this page does not know yet)."""
    return KIND_LABELS.get(kind, kind.replace("_", " "))


def _where(finding: dict[str, Any]) -> str:
    parts = [
        *([f"key {finding['prompt_cache_key']}"] if finding["prompt_cache_key"] else []),
        *([f"prefix {finding['prefix']}"] if finding["prefix"] else []),
    ]
    return ", ".join(parts) or "(no key)"


def _saving(finding: dict[str, Any], field: str = "monthly_saving") -> str:
    return money(Decimal(finding[field]), finding["currency"])


def _evidence(evidence: dict[str, int | str]) -> html.Ul:
    return html.Ul(
        [
            html.Li(f"{name.replace('_', ' ')}: {f'{v:,}' if isinstance(v, int) else v}")
            for name, v in evidence.items()
        ],
        className="ad-evidence",
    )


def _rows(rank: int, finding: dict[str, Any]) -> list[html.Tr]:
    """The finding's row, and beneath it the recommendation and, unfolded, the why."""
    cells: list[Any] = [
        str(rank),
        kind_text(finding["kind"]),
        finding["app"] or "(no app)",
        f"{finding['provider']} / {finding['model'] or '(no model)'}",
        _where(finding),
        _saving(finding),
        f"{finding['requests']:,}",
    ]
    why = html.Details(
        [
            html.Summary("How the saving was computed"),
            html.P(finding["explanation"]),
            html.P(
                f"In this range: {_saving(finding, 'saving_in_range')}, before scaling to a month."
            ),
            _evidence(finding["evidence"]),
        ]
    )
    detail = html.Td(
        [html.P(finding["recommendation"], className="ad-recommendation"), why],
        colSpan=len(cells),
        className="ad-detail",
    )
    return [
        html.Tr([html.Td(c) for c in cells], className="ad-finding"),
        html.Tr(detail, className="ad-detail-row"),
    ]


def _thresholds(settings: AdviceSettings) -> str:
    # No currency: the minimum applies in each finding's own price currency.
    return (
        f"would save at least {money(settings.min_saving, None)} a month (in its price's"
        f" currency) on at least {settings.min_requests:,} requests"
    )


def findings(
    conn: Connection, tenant: TenantRef, f: Filters, settings: AdviceSettings
) -> dict[str, Any]:
    """The advice report of the view (its range and app), its findings narrowed to the view's
    provider and model; still ranked, largest monthly saving first."""
    body = advice(conn, tenant, f.start, f.end, f.app, settings)
    kept = [x for x in body["findings"] if all(getattr(f, d) in (None, x[d]) for d in MATCHED)]
    return {**body, "findings": kept}


def view(body: dict[str, Any], f: Filters, settings: AdviceSettings) -> tuple[list[Any], str, Any]:
    """The cards, the thresholds line and the findings (or why there are none) of a report."""
    found = body["findings"]
    top = _saving(found[0]) if found else "n/a"
    cards = [
        card("ad-count", "Findings", f"{len(found):,}"),
        card("ad-top", "Largest saving a month", top),
    ]
    thresholds = (
        f"A finding is shown when it {_thresholds(settings)}. A month is the range's saving"
        " scaled to 30 days (a change of only the last 24 hours, at that day's pace), at the"
        " prices in force at the range's end. Findings can overlap (a key's prefix changes"
        " and its TTL both cost it reads), so their savings are not added up."
    )
    ignored = [d for d in UNMATCHED if getattr(f, d)]
    extra: list[Any] = []
    if ignored:
        which = f"{' and '.join(ignored)} filter" + (" is" if len(ignored) == 1 else "s are")
        extra.append(
            html.P(
                f"Advice is per app, model and cache key: the {which} not applied.",
                id="ad-ignored",
                className="note",
            )
        )
    if body["notes"]:
        extra.append(html.Ul([html.Li(n) for n in body["notes"]], id="ad-notes", className="note"))
    if not found:
        empty = html.Div(
            f"No advice: nothing in this range and filter {_thresholds(settings)}.",
            id="ad-findings",
            className="note",
        )
        return cards, thresholds, [empty, *extra]
    table = html.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in HEADER])),
            html.Tbody([row for rank, x in enumerate(found, 1) for row in _rows(rank, x)]),
        ],
        id="ad-findings",
        className="data",
    )
    return cards, thresholds, [table, *extra]


def register(app: Dash, context: Context) -> None:
    """The page's one callback: the range and filters follow the URL."""

    @app.callback(
        Output("ad-cards", "children"),
        Output("ad-thresholds", "children"),
        Output("ad-table", "children"),
        Input("url", "search"),
    )
    def update(search: str | None) -> tuple[list[Any], str, Any]:
        tenant, f = context.tenant(), context.filters(search)
        with context.connect() as conn:
            body = findings(conn, tenant, f, context.advice)
        return view(body, f, context.advice)
