"""Spend and savings: the range's totals, cost stacked by part, savings and write premium, top
groups, budgets."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go
from dash import Dash, Input, Output, html

from dashboard import theme
from dashboard.context import Context
from dashboard.filters import bucket_of
from dashboard.pages.common import card, table
from reports.budgets import budget_status
from reports.formatting import money
from reports.statement import StatementError
from reports.totals import main_currency
from reports.views import by_bucket, top_groups, view_totals
from store.analytics import Filters
from store.models import COST_PARTS

PATH, TITLE, NAME = "/spend", "Spend & savings", "spend"
PARTS = tuple(
    zip(
        COST_PARTS,
        ("uncached input", "cache read", "cache write 5m", "cache write 1h", "output", "tool fees"),
        strict=True,
    )
)


def layout(values: dict[str, str]) -> html.Div:
    """Panels, filled by the callback."""
    return html.Div(
        [
            html.Div(id="spend-cards", className="cards"),
            html.Div([html.H3("Cost by part"), theme.graph("spend-parts")], className="panel"),
            html.Div(
                [html.H3("Savings and write premium"), theme.graph("spend-savings")],
                className="panel",
            ),
            html.Div(
                [
                    html.Div(
                        [html.H3("Top apps"), html.Div(id="spend-top-app")], className="panel"
                    ),
                    html.Div(
                        [html.H3("Top teams"), html.Div(id="spend-top-team")], className="panel"
                    ),
                ],
                className="grid2",
            ),
            html.Div([html.H3("Top models"), html.Div(id="spend-top-model")], className="panel"),
            html.Div(
                [html.H3("Budgets this month"), html.Div(id="spend-budgets")], className="panel"
            ),
        ]
    )


def cards(conn: Any, tenant_id: int, f: Filters) -> list[Any]:
    """The range's totals, from the read model the overview and the statement use."""
    totals = view_totals(conn, tenant_id, f)
    currency = totals.currency
    other = totals.other_currencies()
    note = f" (+ charges in {', '.join(other)})" if other else ""
    return [
        card("spend-total", "Spend" + note, money(totals.amount("cost"), currency)),
        card(
            "spend-storage",
            "of which cache storage",
            money(totals.amount("storage"), currency),
        ),
        card("spend-saved", "Savings", money(totals.amount("savings"), currency)),
        card(
            "spend-premium",
            "Write premium paid",
            money(totals.amount("write_premium"), currency),
        ),
    ]


def figures(conn: Any, tenant_id: int, f: Filters) -> tuple[go.Figure, go.Figure]:
    """Stacked cost parts (plus explicit-cache storage) and savings/premium per hour (up to a
    week) or day."""
    bucket = bucket_of(f)
    days_totals = by_bucket(conn, tenant_id, f, bucket)
    currency = main_currency(days_totals)
    if currency is None:
        message = "No priced requests in this range and filter."
        return theme.empty(message), theme.empty(message)
    parts: dict[str, dict[Any, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for day in days_totals:
        if currency not in day.money:
            continue
        for column, label in (*PARTS, ("storage", "storage"), ("savings", "savings")):
            parts[label][day.key] = day.amount(column, currency) or Decimal(0)
        parts["write premium"][day.key] = day.amount("write_premium", currency) or Decimal(0)
    days = sorted({d for values in parts.values() for d in values})
    stacked = theme.base_figure(380)
    for _, label in (*PARTS, ("", "storage")):
        stacked.add_trace(
            go.Bar(
                x=days,
                y=[float(parts[label].get(d, 0)) for d in days],
                name=label,
                marker_color=theme.PART_COLORS[label],
            )
        )
    stacked.update_layout(barmode="stack")
    stacked.update_yaxes(title_text=f"cost ({currency})")
    theme.time_axis(stacked, bucket, f.zone)
    lines = theme.base_figure()
    for label, color in (("savings", "#3a9d5d"), ("write premium", "#c46a2b")):
        lines.add_trace(
            theme.step_line(
                x=days,
                y=[float(parts[label].get(d, 0)) for d in days],
                name=label,
                line={"color": color},
            )
        )
    lines.update_yaxes(title_text=f"{currency}")
    theme.time_axis(lines, bucket, f.zone)
    return stacked, lines


def top(conn: Any, tenant_id: int, f: Filters, group: str) -> Any:
    """The ten groups with the largest cost (a row per currency they were charged in)."""
    rows = []
    for t in top_groups(conn, tenant_id, f, group):
        for currency in sorted(t.money):
            savings, nocache = t.amount("savings", currency), t.amount("nocache_cost", currency)
            share = float(savings / nocache) if savings is not None and nocache else None
            rows.append(
                (
                    t.key or "(none)",
                    f"{t.counts['requests']:,}",
                    money(t.amount("cost", currency), currency),
                    money(savings, currency),
                    theme.pct(share),
                )
            )
    return table(
        f"spend-top-{group}-table",
        [group, "requests", "cost", "savings", "saved"],
        rows,
        f"No priced requests with a {group} in this range.",
    )


def budgets(conn: Any, tenant_id: int) -> Any:
    """This month's budgets with spend and projection."""
    try:
        status = budget_status(conn, tenant_id, datetime.now(UTC))
    except StatementError as exc:
        return html.Div(str(exc), className="note")
    rows = [
        (
            f"{b['scope']} {b['name']}",
            f"{b['amount']} {b['currency']}",
            b["month_to_date"],
            b["projected_month_end"],
            f"{b['used_pct']}%",
            html.Span(b["status"], className=f"budget-{b['status']}"),
        )
        for b in status["budgets"]
    ]
    return table(
        "spend-budget-table",
        ["budget", "amount", "month to date", "projected", "used", "status"],
        rows,
        "No budgets set (PUT /v1/budgets or `cachemeter budgets set`).",
    )


def register(app: Dash, context: Context) -> None:
    """One callback for the page."""

    @app.callback(
        Output("spend-cards", "children"),
        Output("spend-parts", "figure"),
        Output("spend-savings", "figure"),
        Output("spend-top-app", "children"),
        Output("spend-top-team", "children"),
        Output("spend-top-model", "children"),
        Output("spend-budgets", "children"),
        Input("url", "search"),
    )
    def update(search: str | None) -> tuple[Any, ...]:
        tenant_id, f = context.tenant_id(), context.filters(search)
        with context.connect() as conn:
            return (
                cards(conn, tenant_id, f),
                *figures(conn, tenant_id, f),
                top(conn, tenant_id, f, "app"),
                top(conn, tenant_id, f, "team"),
                top(conn, tenant_id, f, "model"),
                budgets(conn, tenant_id),
            )
