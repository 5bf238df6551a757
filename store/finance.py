"""SQL for finance work: events to re-price, the re-price audit, and charge updates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, tuple_, update

from billing import Charge, Price
from billing.usage import TOKEN_FIELDS
from store.models import CHARGE_MONEY, RepriceRun, Tenant, UsageEvent

CHARGE_COLUMNS = (
    "currency",
    *CHARGE_MONEY,
    "cost_write_premium",
    "price_source",
    "price_id",
    "price_ref",
    "priced_model",
    "unpriced_reason",
)


def charge_columns(
    charge: Charge | None, price: Price | None, unpriced_reason: str | None
) -> dict[str, Any]:
    """The stored money of one event: its charge by part and the price it used."""
    return {
        "currency": charge.currency if charge else None,
        "cost_uncached_input": charge.uncached_input if charge else None,
        "cost_cache_read": charge.cache_read if charge else None,
        "cost_cache_write_5m": charge.cache_write_5m if charge else None,
        "cost_cache_write_1h": charge.cache_write_1h if charge else None,
        "cost_output": charge.output if charge else None,
        "cost_tool_fees": charge.tool_fees if charge else None,
        "cost": charge.cost if charge else None,
        "nocache_cost": charge.nocache_cost if charge else None,
        "savings": charge.savings if charge else None,
        "cost_write_premium": charge.write_premium if charge else None,
        "price_source": price.source if price else None,
        "price_id": price.source_id if price else None,
        "price_ref": price.ref if price else None,
        "priced_model": price.model if price else None,
        "unpriced_reason": unpriced_reason,
    }


def events_page(
    conn: Connection,
    start: datetime,
    end: datetime,
    *,
    tenant_id: int | None,
    provider: str | None,
    model: str | None,
    after: tuple[datetime, int] | None,
    limit: int,
) -> Sequence[Any]:
    """One page of events in [start, end), in (occurred_at, id) order after `after`."""
    columns = [getattr(UsageEvent, c) for c in (*TOKEN_FIELDS, *CHARGE_COLUMNS)]
    query = (
        select(
            UsageEvent.id,
            UsageEvent.occurred_at,
            UsageEvent.provider,
            UsageEvent.model,
            UsageEvent.reported_model,
            UsageEvent.app,
            UsageEvent.team,
            UsageEvent.environment,
            UsageEvent.ttft_ms,
            UsageEvent.prefix_hash,
            UsageEvent.prompt_cache_key,
            UsageEvent.miss_hint,
            UsageEvent.uncached_input_tokens,
            UsageEvent.reported_cost,
            UsageEvent.service_tier,
            UsageEvent.inference_geo,
            UsageEvent.speed,
            UsageEvent.steps,
            UsageEvent.tool_requests,
            UsageEvent.tenant_id,
            Tenant.name.label("tenant"),
            *columns,
        )
        .join(Tenant, Tenant.id == UsageEvent.tenant_id)
        .where(UsageEvent.occurred_at >= start, UsageEvent.occurred_at < end)
        .order_by(UsageEvent.occurred_at, UsageEvent.id)
        .limit(limit)
    )
    if tenant_id is not None:
        query = query.where(UsageEvent.tenant_id == tenant_id)
    if provider is not None:
        query = query.where(UsageEvent.provider == provider)
    if model is not None:
        query = query.where(UsageEvent.model == model)
    if after is not None:
        query = query.where(tuple_(UsageEvent.occurred_at, UsageEvent.id) > tuple_(*after))
    return conn.execute(query).all()


def update_charges(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Write new charge columns; each row has `event_id`, `event_at` and the CHARGE_COLUMNS."""
    if not rows:
        return
    statement = (
        update(UsageEvent)
        .where(
            UsageEvent.id == bindparam("event_id"), UsageEvent.occurred_at == bindparam("event_at")
        )
        .values({c: bindparam(c) for c in CHARGE_COLUMNS})
    )
    conn.execute(statement, list(rows))


def record_reprice(conn: Connection, **values: Any) -> int:
    """Store one audit row of a re-price run."""
    return int(
        conn.execute(insert(RepriceRun).values(**values).returning(RepriceRun.id)).scalar_one()
    )


def list_reprices(conn: Connection, limit: int = 50) -> list[dict[str, Any]]:
    """Recent re-price runs, newest first."""
    rows = conn.execute(select(RepriceRun.__table__).order_by(RepriceRun.id.desc()).limit(limit))
    return [
        {
            **row._mapping,
            "ran_at": row.ran_at.isoformat(),
            "range_start": row.range_start.isoformat(),
            "range_end": row.range_end.isoformat(),
        }
        for row in rows
    ]
