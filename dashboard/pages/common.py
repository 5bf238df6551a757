"""Building blocks pages share: cards, tables, changes (sums come from reports.totals)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from dash import get_relative_path, html


def card(card_id: str, label: str, value: str, delta: str = "") -> html.Div:
    """A headline number."""
    return html.Div(
        [
            html.Div(label, className="label"),
            html.Div(value, id=card_id, className="value"),
            html.Div(delta, id=f"{card_id}-delta", className="delta"),
        ],
        className="card",
    )


def table(table_id: str, header: Sequence[str], rows: Sequence[Sequence[Any]], empty: str) -> Any:
    """A plain data table, or the reason it is empty."""
    if not rows:
        return html.Div(empty, id=table_id, className="note")
    return html.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in header])),
            html.Tbody([html.Tr([html.Td(str(c)) for c in row]) for row in rows]),
        ],
        id=table_id,
        className="data",
    )


def change(now: float | Decimal | None, before: float | Decimal | None) -> str:
    """ "+12.3% vs previous period" (or why there is no comparison)."""
    if now is None or before is None:
        return "no previous data"
    if before == 0:
        return "previous period: 0"
    return f"{(float(now) - float(before)) / abs(float(before)) * 100:+.1f}% vs previous period"


def page_href(path: str) -> str:
    """A page's address under the dashboard's prefix ("/hit-rate?app=x" -> "/dashboard/…")."""
    return str(get_relative_path(path))  # type: ignore[no-untyped-call]
