"""Per-prefix cache statistics and request timelines for the cache economics report."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, literal, select

from store.models import UsageEvent

NO_PREFIX = "(no prefix key)"


def _prefix() -> Any:
    return func.coalesce(UsageEvent.prefix_hash, UsageEvent.prompt_cache_key, literal(NO_PREFIX))


def prefix_groups(
    conn: Connection, tenant_id: int, start: datetime, end: datetime
) -> Sequence[Any]:
    """Per (app, prefix, provider, model, currency): writes, reads and money over [start, end)."""
    e = UsageEvent
    prefix = _prefix().label("prefix")
    return conn.execute(
        select(
            e.app,
            prefix,
            e.provider,
            e.model,
            e.currency,
            func.count().label("requests"),
            func.count().filter(e.cache_write_tokens > 0).label("write_requests"),
            func.count().filter(e.cache_read_tokens > 0).label("read_requests"),
            func.sum(e.cache_write_tokens).label("write_tokens"),
            func.sum(e.cache_read_tokens).label("read_tokens"),
            func.sum(e.cost).label("cost"),
            func.sum(e.savings).label("savings"),
            func.sum(e.cost_write_premium).label("write_premium"),
        )
        .where(e.tenant_id == tenant_id, e.occurred_at >= start, e.occurred_at < end)
        .group_by(e.app, prefix, e.provider, e.model, e.currency)
        .order_by(func.sum(e.savings).asc().nulls_last())
    ).all()


def prefix_timelines(
    conn: Connection, tenant_id: int, start: datetime, end: datetime
) -> Iterator[Any]:
    """Requests with a prefix key, ordered by prefix then time (streamed)."""
    e = UsageEvent
    prefix = _prefix().label("prefix")
    result = conn.execution_options(stream_results=True, yield_per=5_000).execute(
        select(
            e.app,
            prefix,
            e.provider,
            e.model,
            e.occurred_at,
            e.cache_read_tokens,
            e.cache_write_tokens,
            e.cache_write_1h_tokens,
        )
        .where(
            e.tenant_id == tenant_id,
            e.occurred_at >= start,
            e.occurred_at < end,
            (e.prefix_hash.is_not(None)) | (e.prompt_cache_key.is_not(None)),
        )
        .order_by(e.app, prefix, e.provider, e.model, e.occurred_at)
    )
    yield from result
