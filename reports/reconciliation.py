"""Reconciliation report: groups whose computed cost differs from the reported charge."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from billing import PriceNotFound
from billing.charge import money_text
from billing.reconcile import Totals, likely_cause, within
from store.prices import load_price_book
from store.reconcile import reported_groups


def reconciliation(
    conn: Connection,
    tenant: Any,
    start: datetime,
    end: datetime,
    tolerance_pct: Decimal = Decimal("1"),
    tolerance_abs: Decimal = Decimal("0.000001"),
) -> dict[str, Any]:
    """Every (provider, model) with reported charges; `flagged` ones differ beyond tolerance."""
    book = load_price_book(conn)
    groups = []
    for row in reported_groups(conn, tenant.id, start, end):
        # sum() over bigint is numeric in PostgreSQL: counts come back as Decimal.
        values: dict[str, Any] = {
            k: int(row._mapping[k]) if f.type == "int" else row._mapping[k]
            for k, f in Totals.__dataclass_fields__.items()
        }
        totals = Totals(**values)
        reported, computed = Decimal(totals.reported), Decimal(totals.computed)
        flagged = bool(totals.unpriced) or not within(
            computed, reported, tolerance_pct, tolerance_abs
        )
        cause = None
        if flagged:
            try:
                rates = book.resolve(row.provider, row.model, end, tenant.name).rates
            except PriceNotFound:
                rates = None
            cause = likely_cause(totals, rates, tolerance_pct, tolerance_abs)
        groups.append(
            {
                "provider": row.provider,
                "model": row.model,
                "events": totals.events,
                "unpriced_events": totals.unpriced,
                "reported": money_text(reported),
                "computed": money_text(computed),
                "difference": money_text(reported - computed),
                "difference_pct": money_text(
                    ((reported - computed) / reported * 100).quantize(Decimal("0.01"))
                )
                if reported
                else None,
                "flagged": flagged,
                "likely_cause": cause,
            }
        )
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "tolerance_pct": money_text(tolerance_pct),
        "tolerance_abs": money_text(tolerance_abs),
        "flagged": [g for g in groups if g["flagged"]],
        "groups": groups,
    }
