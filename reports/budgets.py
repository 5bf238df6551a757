"""Budget status: month-to-date spend, projected month end, and whether a threshold is crossed."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from billing.charge import money_text
from billing.fx import RateNotFound
from reports.statement import missing_rate, month_range
from store.budgets import budgets, spend
from store.fx import load_fx


def budget_status(
    conn: Connection, tenant_id: int, now: datetime, month: str | None = None
) -> dict[str, Any]:
    """Every budget of the tenant for `month` (default: the month of `now`).

    Projection: month-to-date spend divided by the elapsed share of the month. Status is
    `exceeded` past the amount, `warning` when spend or projection reaches the threshold,
    else `ok`. Spend in another currency is converted at the rate in force at `now`.
    """
    month = month or now.strftime("%Y-%m")
    start, end = month_range(month)
    elapsed = min(max((now - start) / (end - start), 0.0), 1.0)
    spent = {
        scope: spend(
            conn, tenant_id, scope, start, min(end, max(now, start)) if elapsed < 1 else end
        )
        for scope in ("team", "app")
    }
    fx = load_fx(conn)
    out = []
    for budget in budgets(conn, tenant_id):
        total = Decimal(0)
        for currency, amount in spent[budget.scope].get(budget.name, {}).items():
            try:
                total += fx.convert(amount, currency, budget.currency, now)
            except RateNotFound as exc:
                raise missing_rate(exc) from None
        projected = total / Decimal(str(elapsed)) if elapsed > 0 else Decimal(0)
        threshold = budget.amount * budget.threshold_pct / 100
        status = (
            "exceeded"
            if total > budget.amount
            else ("warning" if total >= threshold or projected >= threshold else "ok")
        )
        out.append(
            {
                "scope": budget.scope,
                "name": budget.name,
                "amount": money_text(budget.amount),
                "currency": budget.currency,
                "threshold_pct": money_text(budget.threshold_pct),
                "month_to_date": money_text(total),
                "projected_month_end": money_text(projected.quantize(Decimal("0.000001"))),
                "used_pct": money_text((total / budget.amount * 100).quantize(Decimal("0.01"))),
                "status": status,
            }
        )
    return {
        "month": month,
        "elapsed_pct": round(elapsed * 100, 2),
        "as_of": now.astimezone(UTC).isoformat(),
        "budgets": out,
    }
