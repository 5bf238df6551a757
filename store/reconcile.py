"""Sums for reconciliation: events that carry the source's own reported charge."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, union_all

from store.hours import hour_split
from store.models import ReportedHourly, UsageEvent
from store.rollups import REPORTED_COUNTS


def _event_part(tenant_id: int, ranges: list[tuple[datetime, datetime]]) -> Any:
    e = UsageEvent
    zero = 0
    return (
        select(
            e.provider,
            e.model,
            func.count().label("events"),
            func.count().filter(e.cost.is_(None)).label("unpriced"),
            func.sum(e.reported_cost).label("reported"),
            func.coalesce(func.sum(e.cost), zero).label("computed"),
            *[func.sum(getattr(e, c)).label(c) for c in REPORTED_COUNTS[4:8]],
            *[func.coalesce(func.sum(getattr(e, c)), zero).label(c) for c in REPORTED_COUNTS[8:]],
        )
        .where(
            e.tenant_id == tenant_id,
            or_(*[and_(e.occurred_at >= lo, e.occurred_at < hi) for lo, hi in ranges]),
            e.reported_cost.is_not(None),
        )
        .group_by(e.provider, e.model)
    )


def _rollup_part(tenant_id: int, start: datetime, end: datetime) -> Any:
    r = ReportedHourly
    return (
        select(r.provider, r.model, *[func.sum(getattr(r, c)).label(c) for c in REPORTED_COUNTS])
        .where(r.tenant_id == tenant_id, r.hour >= start, r.hour < end)
        .group_by(r.provider, r.model)
    )


def reported_groups(
    conn: Connection, tenant_id: int, start: datetime, end: datetime
) -> Sequence[Any]:
    """Per (provider, model): reported vs computed sums and the token mix, over [start, end).

    Whole hours come from `reported_hourly`; only partial edge hours are read from events.
    """
    hours, edges = hour_split(start, end)
    parts = []
    if hours is not None:
        parts.append(_rollup_part(tenant_id, *hours))
    if edges:
        parts.append(_event_part(tenant_id, edges))
    if not parts:
        return []
    both = union_all(*parts).subquery()
    return conn.execute(
        select(
            both.c.provider,
            both.c.model,
            *[func.sum(both.c[c]).label(c) for c in REPORTED_COUNTS],
        )
        .group_by(both.c.provider, both.c.model)
        .order_by(both.c.provider, both.c.model)
    ).all()
