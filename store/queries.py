"""Read queries for reports, the dashboard and readiness; every one is tenant-scoped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, literal_column, or_, select, text, union_all

from store.db import shipped_revisions
from store.hours import hour_split
from store.models import DIMENSIONS, CacheObject, UsageEvent, UsageHourly
from store.tenancy import APP_ROLE

GROUPS: tuple[str, ...] = (*DIMENSIONS, "day")


def _group_expr(table: Any, time_column: Any, group_by: str) -> Any:
    if group_by == "day":
        return func.to_char(func.timezone("UTC", time_column), literal_column("'YYYY-MM-DD'"))
    if group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPS)}")
    return getattr(table, group_by)


def _event_part(group_by: str, ranges: list[tuple[datetime, datetime]], tenant_id: int) -> Any:
    e = UsageEvent
    return (
        select(
            _group_expr(e, e.occurred_at, group_by).label("key"),
            e.currency,
            func.count().label("requests"),
            func.count().filter(e.cache_read_tokens > 0).label("hit_requests"),
            func.count().filter(e.cost.is_(None)).label("unpriced_requests"),
            func.sum(e.input_tokens).label("input_tokens"),
            func.sum(e.cache_read_tokens).label("cache_read_tokens"),
            func.sum(e.cache_write_tokens).label("cache_write_tokens"),
            func.sum(e.cache_write_1h_tokens).label("cache_write_1h_tokens"),
            func.sum(e.output_tokens).label("output_tokens"),
            func.sum(e.cost).label("cost"),
            func.sum(e.nocache_cost).label("nocache_cost"),
            func.sum(e.savings).label("savings"),
        )
        .where(
            e.tenant_id == tenant_id,
            or_(*[and_(e.occurred_at >= lo, e.occurred_at < hi) for lo, hi in ranges]),
        )
        .group_by(literal_column("1"), e.currency)
    )


def _rollup_part(group_by: str, start: datetime, end: datetime, tenant_id: int) -> Any:
    h = UsageHourly
    return (
        select(
            _group_expr(h, h.hour, group_by).label("key"),
            h.currency,
            func.sum(h.requests).label("requests"),
            func.sum(h.hit_requests).label("hit_requests"),
            func.sum(h.unpriced_requests).label("unpriced_requests"),
            func.sum(h.input_tokens).label("input_tokens"),
            func.sum(h.cache_read_tokens).label("cache_read_tokens"),
            func.sum(h.cache_write_tokens).label("cache_write_tokens"),
            func.sum(h.cache_write_1h_tokens).label("cache_write_1h_tokens"),
            func.sum(h.output_tokens).label("output_tokens"),
            # Unpriced events add 0 here; they carry no currency, so their group is skipped.
            func.sum(h.cost).label("cost"),
            func.sum(h.nocache_cost).label("nocache_cost"),
            func.sum(h.savings).label("savings"),
        )
        .where(h.tenant_id == tenant_id, h.hour >= start, h.hour < end)
        .group_by(literal_column("1"), h.currency)
    )


def summary_rows(
    conn: Connection, tenant_id: int, start: datetime, end: datetime, group_by: str
) -> Sequence[Any]:
    """Usage sums per (group `key`, currency) over [start, end) (reports.totals orders them).

    Whole hours come from the hourly rollups; only the partial hours at either end (when a
    bound is not on the hour) are read from the events, so the cost does not grow with the
    number of events in the range.
    """
    hours, edges = hour_split(start, end)
    parts = []
    if hours is not None:
        parts.append(_rollup_part(group_by, *hours, tenant_id))
    if edges:
        parts.append(_event_part(group_by, edges, tenant_id))
    if not parts:
        return []
    both = union_all(*parts).subquery()
    return conn.execute(
        select(
            both.c.key,
            both.c.currency,
            *[
                func.sum(column).label(column.key)
                for column in both.c
                if column.key not in ("key", "currency")
            ],
        ).group_by(both.c.key, both.c.currency)
    ).all()


def storage_rows(
    conn: Connection, tenant_id: int, start: datetime, end: datetime, group_by: str
) -> Sequence[Any]:
    """Explicit-cache storage per (group `key`, currency) of the caches created in [start,
    end): the statement's rule, so every report counts storage alike."""
    c = CacheObject
    key = _group_expr(c, c.created_at, group_by).label("key")
    return conn.execute(
        select(key, c.currency, func.sum(c.cost_storage).label("storage"))
        .where(
            c.tenant_id == tenant_id,
            c.created_at >= start,
            c.created_at < end,
            c.cost_storage.is_not(None),
        )
        .group_by(key, c.currency)
    ).all()


def unready_reason(conn: Connection) -> str | None:
    """Why the service cannot serve from this database (None when it can): the schema is
    not migrated (or behind this code's migrations), or the login may not become the
    row-level-security role."""
    migrated, role = conn.execute(
        text(
            "SELECT to_regclass('usage_events') IS NOT NULL,"
            " EXISTS (SELECT FROM pg_roles WHERE rolname = :role"
            " AND pg_has_role(current_user, oid, 'MEMBER'))"
        ),
        {"role": APP_ROLE},
    ).one()
    if not migrated:
        return "the database is not migrated: run `cachemeter migrate`"
    # Behind this code's schema (a migration it ships is not applied yet), its writes would
    # fail; ahead (a newer release migrated it, this pod is the old one) it still serves.
    head, shipped = shipped_revisions()
    version = (
        conn.execute(text("SELECT max(version_num) FROM alembic_version")).scalar()
        if conn.execute(text("SELECT to_regclass('alembic_version') IS NOT NULL")).scalar()
        else None
    )
    if version in shipped and version != head:
        return (
            f"the database is at migration {version}, this version needs {head}:"
            " run `cachemeter migrate`"
        )
    if not role:
        return (
            f"this login may not act as {APP_ROLE}: as a superuser run"
            f" GRANT {APP_ROLE} TO <this login>"
        )
    return None
