"""Sums for reconciliation: events that carry the source's own reported charge."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from store.models import UsageEvent


def reported_groups(
    conn: Connection, tenant_id: int, start: datetime, end: datetime
) -> Sequence[Any]:
    """Per (provider, model): reported vs computed sums and the token mix, over [start, end)."""
    e = UsageEvent
    zero = 0
    return conn.execute(
        select(
            e.provider,
            e.model,
            func.count().label("events"),
            func.count().filter(e.cost.is_(None)).label("unpriced"),
            func.sum(e.reported_cost).label("reported"),
            func.coalesce(func.sum(e.cost), zero).label("computed"),
            func.sum(e.input_tokens).label("input_tokens"),
            func.sum(e.cache_read_tokens).label("cache_read_tokens"),
            func.sum(e.cache_write_tokens).label("cache_write_tokens"),
            func.sum(e.cache_write_1h_tokens).label("cache_write_1h_tokens"),
            func.coalesce(func.sum(e.cost_cache_read), zero).label("cost_cache_read"),
            func.coalesce(func.sum(e.cost_cache_write_5m), zero).label("cost_cache_write_5m"),
            func.coalesce(func.sum(e.cost_cache_write_1h), zero).label("cost_cache_write_1h"),
        )
        .where(
            e.tenant_id == tenant_id,
            e.occurred_at >= start,
            e.occurred_at < end,
            e.reported_cost.is_not(None),
        )
        .group_by(e.provider, e.model)
        .order_by(e.provider, e.model)
    ).all()
