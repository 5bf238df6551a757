"""Aggregates for finance statements: per group, currency and FX-rate period.

Splitting by the periods between FX rate changes lets a report in another currency convert
each period's sum at the one rate in force for all its events, so the converted total is the
sum of the events converted one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, literal, select

from store.models import CacheObject, FxRate, UsageEvent

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
    """Usage totals per (group, currency, FX period) over [start, end)."""
    if group_by not in STATEMENT_GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(STATEMENT_GROUPS)}")
    key = getattr(UsageEvent, group_by).label("key")
    segment = _segment(UsageEvent.occurred_at, breakpoints).label("segment")
    e = UsageEvent
    return conn.execute(
        select(
            key,
            e.currency,
            segment,
            func.count().label("requests"),
            func.count().filter(e.cost.is_(None)).label("unpriced_requests"),
            func.sum(e.input_tokens).label("input_tokens"),
            func.sum(e.uncached_input_tokens).label("uncached_input_tokens"),
            func.sum(e.cache_read_tokens).label("cache_read_tokens"),
            func.sum(e.cache_write_tokens - e.cache_write_1h_tokens).label("cache_write_5m_tokens"),
            func.sum(e.cache_write_1h_tokens).label("cache_write_1h_tokens"),
            func.sum(e.output_tokens).label("output_tokens"),
            func.sum(e.cost_uncached_input).label("uncached_input"),
            func.sum(e.cost_cache_read).label("cache_read"),
            func.sum(e.cost_cache_write_5m).label("cache_write_5m"),
            func.sum(e.cost_cache_write_1h).label("cache_write_1h"),
            func.sum(e.cost_output).label("output"),
            func.sum(e.nocache_cost).label("nocache_cost"),
            func.sum(e.cost_write_premium).label("write_premium"),
        )
        .where(e.tenant_id == tenant_id, e.occurred_at >= start, e.occurred_at < end)
        .group_by(key, e.currency, segment)
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
    ).all()
