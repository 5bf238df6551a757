"""Provider-reported usage buckets, collector cursors, and the comparison with pushed events."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, literal_column, select
from sqlalchemy.dialects.postgresql import insert

from store.models import CollectorCursor, ProviderUsageBucket, UsageEvent

COUNTS = (
    "requests",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
)


def upsert_buckets(conn: Connection, tenant_id: int, rows: Iterable[dict[str, Any]]) -> int:
    """Store buckets; a bucket fetched again replaces the stored one. Returns rows written."""
    values = [{"tenant_id": tenant_id, **row} for row in rows]
    if not values:
        return 0
    statement = insert(ProviderUsageBucket).values(values)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["tenant_id", "provider", "bucket_start", "model", "scope"],
            set_={c: statement.excluded[c] for c in (*COUNTS, "bucket_end", "raw")}
            | {"fetched_at": func.now()},
        )
    )
    return len(values)


def cursor(conn: Connection, tenant_id: int, collector: str) -> datetime | None:
    """Where the collector's complete buckets end, or None before its first run."""
    return conn.execute(
        select(CollectorCursor.collected_until).where(
            CollectorCursor.tenant_id == tenant_id, CollectorCursor.collector == collector
        )
    ).scalar_one_or_none()


def advance(conn: Connection, tenant_id: int, collector: str, until: datetime) -> None:
    """Record that every bucket before `until` was collected."""
    statement = insert(CollectorCursor).values(
        tenant_id=tenant_id, collector=collector, collected_until=until
    )
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["tenant_id", "collector"],
            set_={"collected_until": until, "updated_at": func.now()},
        )
    )


def compare(conn: Connection, tenant_id: int, start: datetime, end: datetime) -> Sequence[Any]:
    """Per (provider, model, UTC day): provider-reported vs pushed input, cache-read, output."""
    day: Any = literal_column("'day'")
    utc: Any = literal_column("'UTC'")
    b, e = ProviderUsageBucket, UsageEvent
    reported = (
        select(
            b.provider,
            b.model,
            func.date_trunc(day, b.bucket_start, utc).label("day"),
            func.sum(b.input_tokens).label("input"),
            func.sum(b.cache_read_tokens).label("read"),
            func.sum(b.output_tokens).label("output"),
        )
        .where(b.tenant_id == tenant_id, b.bucket_start >= start, b.bucket_start < end)
        .group_by(b.provider, b.model, literal_column("3"))
        .subquery()
    )
    # Usage APIs name the model as the provider billed it: match the name events were reported
    # with (events stored before revision 0013 have it in `model`).
    as_reported = func.coalesce(e.reported_model, e.model)
    pushed = (
        select(
            e.provider,
            as_reported.label("model"),
            func.date_trunc(day, e.occurred_at, utc).label("day"),
            func.sum(e.input_tokens).label("input"),
            func.sum(e.cache_read_tokens).label("read"),
            func.sum(e.output_tokens).label("output"),
        )
        .where(e.tenant_id == tenant_id, e.occurred_at >= start, e.occurred_at < end)
        .group_by(e.provider, as_reported, literal_column("3"))
        .subquery()
    )
    return conn.execute(
        select(
            reported.c.provider,
            reported.c.model,
            reported.c.day,
            reported.c.input.label("reported_input"),
            reported.c.read.label("reported_cache_read"),
            reported.c.output.label("reported_output"),
            func.coalesce(pushed.c.input, 0).label("pushed_input"),
            func.coalesce(pushed.c.read, 0).label("pushed_cache_read"),
            func.coalesce(pushed.c.output, 0).label("pushed_output"),
        )
        .select_from(
            reported.outerjoin(
                pushed,
                (pushed.c.provider == reported.c.provider)
                & (pushed.c.model == reported.c.model)
                & (pushed.c.day == reported.c.day),
            )
        )
        .order_by(reported.c.day, reported.c.provider, reported.c.model)
    ).all()
