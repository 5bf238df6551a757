"""Building blocks pages share: cards, tables, changes (sums come from reports.totals)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from dash import get_relative_path, html
from dash.development.base_component import Component


def card(card_id: str, label: str, value: str, delta: Any = "") -> html.Div:
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
            html.Tbody(
                [
                    html.Tr([html.Td(c if isinstance(c, Component) else str(c)) for c in row])
                    for row in rows
                ]
            ),
        ],
        id=table_id,
        className="data",
    )


def change(
    now: float | Decimal | None,
    before: float | Decimal | None,
    *,
    rate: bool = False,
    better: str | None = "up",
) -> html.Span:
    """The change against the previous equal range: relative for amounts ("+12.3%"), in
    percentage points for rates ("-4.2 pp"); green when it moved the `better` way ("up" or
    "down"; None: neither), red when the other."""
    if now is None or before is None:
        return html.Span("no previous data", className="delta-none")
    if rate:
        points = (float(now) - float(before)) * 100
        text, moved = f"{points:+.1f} pp vs previous period", points
    elif before == 0:
        return html.Span("previous period: 0", className="delta-none")
    else:
        relative = (float(now) - float(before)) / abs(float(before)) * 100
        text, moved = f"{relative:+.1f}% vs previous period", relative
    if better is None or round(moved, 1) == 0:
        return html.Span(text, className="delta-none")
    good = (moved > 0) == (better == "up")
    return html.Span(text, className="delta-good" if good else "delta-bad")


def moment_text(moment: str | None, seconds: bool = False, zone: str = "UTC") -> str:
    """An ISO time as "YYYY-MM-DD HH:MM" (with ":SS" if asked) on the clock of `zone`, "" for
    none."""
    if moment is None:
        return ""
    parsed = datetime.fromisoformat(moment)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(ZoneInfo(zone))
    return parsed.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def page_href(path: str) -> str:
    """A page's address under the dashboard's prefix ("/hit-rate?app=x" -> "/dashboard/…")."""
    return str(get_relative_path(path))  # type: ignore[no-untyped-call]
