"""The statement's SQL: usage and explicit-cache storage sums per (group, currency, FX-rate
period) of a range; reports.statement makes the statement of them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, literal, select

from store.models import COST_PARTS, CacheObject, FxRate, UsageEvent, UsageHourly

STATEMENT_GROUPS = ("team", "app", "model", "provider", "environment")


def _segment(column: Any, breakpoints: Sequence[datetime]) -> Any:
    if not breakpoints:
        return literal(0)
    return case(*[(column < b, i) for i, b in enumerate(breakpoints)], else_=len(breakpoints))


def fx_breakpoints(conn: Connection, start: datetime, end: datetime) -> list[datetime]:
    """Times inside (start, end) at which some FX rate changes."""
    rows = conn.execute(
        select(FxRate.effective_from)
        .where(FxRate.effective_from > start, FxRate.effective_from < end)
        .distinct()
        .order_by(FxRate.effective_from)
    )
    return [r[0] for r in rows]


def usage_sums(
    conn: Connection,
    tenant_id: int,
    start: datetime,
    end: datetime,
    group_by: str,
    breakpoints: Sequence[datetime],
) -> Sequence[Any]:
    """Usage totals per (group, currency, FX period) over [start, end).

    Read from the hourly rollups when every bound falls on a whole hour (FX rates normally
    change at midnight); otherwise from the events themselves. Both give the same sums.
    """
    if group_by not in STATEMENT_GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(STATEMENT_GROUPS)}")
    on_hours = all(t.minute == t.second == t.microsecond == 0 for t in (start, end, *breakpoints))
    # The same sums from either source: a rollup row counts many requests, an event one.
    table: Any = UsageHourly if on_hours else UsageEvent
    time = UsageHourly.hour if on_hours else UsageEvent.occurred_at
    requests: Any
    unpriced: Any
    premium: Any
    if on_hours:
        requests = func.sum(UsageHourly.requests)
        unpriced = func.sum(UsageHourly.unpriced_requests)
        premium = UsageHourly.write_premium
    else:
        requests = func.count()
        unpriced = func.count().filter(UsageEvent.cost.is_(None))
        premium = UsageEvent.cost_write_premium
    key = getattr(table, group_by).label("key")
    segment = _segment(time, breakpoints).label("segment")
    sums = [
        requests.label("requests"),
        unpriced.label("unpriced_requests"),
        *(
            func.sum(getattr(table, c)).label(c)
            for c in (
                "input_tokens",
                "uncached_input_tokens",
                "cache_read_tokens",
                "cache_write_1h_tokens",
                "output_tokens",
                "nocache_cost",
            )
        ),
        func.sum(table.cache_write_tokens - table.cache_write_1h_tokens).label(
            "cache_write_5m_tokens"
        ),
        *(func.sum(getattr(table, f"cost_{p}")).label(p) for p in PARTS[:-1]),
        func.sum(premium).label("write_premium"),
    ]
    return conn.execute(
        select(key, table.currency, segment, *sums)
        .where(table.tenant_id == tenant_id, time >= start, time < end)
        .group_by(key, table.currency, segment)
        # Converted sums are shared out in this order (reports.statement): always the same.
        .order_by(key, table.currency, segment)
    ).all()


def storage_sums(
    conn: Connection,
    tenant_id: int,
    start: datetime,
    end: datetime,
    group_by: str,
    breakpoints: Sequence[datetime],
) -> Sequence[Any]:
    """Explicit-cache storage per (group, currency, FX period), by the cache's creation time."""
    key = getattr(CacheObject, group_by).label("key")
    segment = _segment(CacheObject.created_at, breakpoints).label("segment")
    return conn.execute(
        select(
            key,
            CacheObject.currency,
            segment,
            func.count().label("caches"),
            func.count().filter(CacheObject.cost_storage.is_(None)).label("unpriced_caches"),
            func.sum(CacheObject.cost_storage).label("storage"),
        )
        .where(
            CacheObject.tenant_id == tenant_id,
            CacheObject.created_at >= start,
            CacheObject.created_at < end,
        )
        .group_by(key, CacheObject.currency, segment)
        .order_by(key, CacheObject.currency, segment)
    ).all()


TOKENS = (
    "input_tokens",
    "uncached_input_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
)
PARTS = (*(c.removeprefix("cost_") for c in COST_PARTS), "storage")
MONEY = (*PARTS, "nocache_cost", "write_premium")
