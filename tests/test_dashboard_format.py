"""How the dashboard words its numbers: changes of rates in percentage points and of amounts
in per cent, coloured by whether they moved the good way; zeros and a reason on an empty range;
budget status coloured by its state."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from dashboard.pages.common import change, table
from dashboard.pages.overview import cards
from store.analytics import Filters
from store.tenants import ensure_tenant


def _said(span: Any) -> tuple[str, str]:
    return span.children, span.className


def test_rates_change_in_points_and_amounts_in_per_cent() -> None:
    # 0.82 -> 0.78: 4 points down, not "-4.9%".
    assert _said(change(0.78, 0.82, rate=True)) == ("-4.0 pp vs previous period", "delta-bad")
    assert _said(change(0.9, 0.8, rate=True)) == ("+10.0 pp vs previous period", "delta-good")
    # Spend up is bad, savings up is good; a count is neither.
    assert _said(change(Decimal(120), Decimal(100), better="down")) == (
        "+20.0% vs previous period",
        "delta-bad",
    )
    assert _said(change(Decimal(80), Decimal(100))) == ("-20.0% vs previous period", "delta-bad")
    assert _said(change(5, 4, better=None)) == ("+25.0% vs previous period", "delta-none")
    assert _said(change(1, 1)) == ("+0.0% vs previous period", "delta-none")
    assert _said(change(None, 1)) == ("no previous data", "delta-none")
    assert _said(change(3, 0)) == ("previous period: 0", "delta-none")


def test_an_empty_range_shows_zeros_and_why(engine: Engine) -> None:
    with engine.begin() as conn:
        tenant = ensure_tenant(conn, "acme")
    with engine.connect() as conn:
        shown = cards(
            conn,
            tenant.id,
            Filters(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 8, tzinfo=UTC)),
        )
    values = {c.children[1].id: c.children[1].children for c in shown}
    notes = {c.children[2].children for c in shown}
    assert values["card-spend"] == "0.00" and values["card-requests"] == "0"
    assert "n/a" not in " ".join(values.values())
    assert notes == {"no usage in this range"}


def test_table_cells_keep_components() -> None:
    from dash import html

    status = html.Span("exceeded", className="budget-exceeded")
    rendered = table("t", ["budget", "status"], [["team a", status]], "none")
    [row] = rendered.children[1].children
    assert row.children[1].children is status
    assert row.children[0].children == "team a"
