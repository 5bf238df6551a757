"""Monthly budgets per team or app, and the spend they are measured against."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, delete, func, select
from sqlalchemy.dialects.postgresql import insert

from store.models import Budget, CacheObject, UsageHourly


def set_budget(
    conn: Connection,
    tenant_id: int,
    scope: str,
    name: str,
    amount: Decimal,
    currency: str,
    threshold_pct: Decimal,
) -> None:
    """Create or replace the budget of one team or app."""
    values = {"amount": amount, "currency": currency, "threshold_pct": threshold_pct}
    conn.execute(
        insert(Budget)
        .values(tenant_id=tenant_id, scope=scope, name=name, **values)
        .on_conflict_do_update(index_elements=["tenant_id", "scope", "name"], set_=values)
    )


def remove_budget(conn: Connection, tenant_id: int, scope: str, name: str) -> bool:
    """Delete a budget; False when there was none."""
    result = conn.execute(
        delete(Budget).where(
            Budget.tenant_id == tenant_id, Budget.scope == scope, Budget.name == name
        )
    )
    return result.rowcount > 0


def budgets(conn: Connection, tenant_id: int) -> Sequence[Any]:
    """The tenant's budgets."""
    return conn.execute(
        select(Budget.__table__)
        .where(Budget.tenant_id == tenant_id)
        .order_by(Budget.scope, Budget.name)
    ).all()


def spend(
    conn: Connection, tenant_id: int, scope: str, start: datetime, end: datetime
) -> dict[str, dict[str, Decimal]]:
    """Spend per team or app, per currency, over the hours in [start, end) (from the hourly
    rollups; an hour counts whole once it has begun), with the storage of the explicit caches
    created in it, as the statement counts it: {name: {currency: cost}}."""
    out: dict[str, dict[str, Decimal]] = {}
    for table, time, amount in (
        (UsageHourly, UsageHourly.hour, UsageHourly.cost),
        (CacheObject, CacheObject.created_at, CacheObject.cost_storage),
    ):
        column = table.team if scope == "team" else table.app
        rows = conn.execute(
            select(column.label("name"), table.currency, func.sum(amount).label("cost"))
            .where(
                table.tenant_id == tenant_id,
                time >= start,
                time < end,
                table.currency.is_not(None),
                amount.is_not(None),
                column.is_not(None),
            )
            .group_by(column, table.currency)
        )
        for row in rows:
            by_currency = out.setdefault(row.name, {})
            by_currency[row.currency] = by_currency.get(row.currency, Decimal(0)) + row.cost
    return out
