"""The FX rate table: dated conversion rates for reports in a reporting currency."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert

from billing.charge import money_text
from billing.fx import FxRate, FxTable
from store.models import FxRate as FxRow


def add_rate(conn: Connection, rate: FxRate) -> None:
    """Store a rate; the same pair and date again replaces the rate (a correction)."""
    conn.execute(
        insert(FxRow)
        .values(
            from_currency=rate.from_currency,
            to_currency=rate.to_currency,
            rate=rate.rate,
            effective_from=rate.effective_from,
        )
        .on_conflict_do_update(
            index_elements=["from_currency", "to_currency", "effective_from"],
            set_={"rate": rate.rate},
        )
    )


def load_fx(conn: Connection) -> FxTable:
    """Every stored rate as a lookup table."""
    rows = conn.execute(
        select(FxRow.from_currency, FxRow.to_currency, FxRow.rate, FxRow.effective_from)
    )
    return FxTable(
        FxRate(r.from_currency, r.to_currency, Decimal(r.rate), r.effective_from) for r in rows
    )


def list_rates(conn: Connection) -> list[dict[str, Any]]:
    """Stored rates for display."""
    rows = conn.execute(
        select(FxRow).order_by(FxRow.from_currency, FxRow.to_currency, FxRow.effective_from)
    )
    return [
        {
            "from": r.from_currency,
            "to": r.to_currency,
            "rate": money_text(r.rate),
            "effective_from": r.effective_from.isoformat(),
        }
        for r in rows
    ]
