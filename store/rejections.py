"""The ingest_rejections table: rejected records per (tenant, source, reason class), upserted;
listed for the API and the dashboard; aged out by retention."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, text

from billing.text import storable
from store.models import IngestRejection, UsageEvent

# Reason classes kept per (tenant, source); a sender inventing new ones (field names of its
# own) adds to "other" beyond that, so the table stays small whatever it sends.
MAX_REASONS = 100
OTHER = "other"
MAX_SAMPLE_ERROR = 1000


@dataclass(frozen=True)
class RejectionGroup:
    """A batch's rejections of one reason class: how many, and one sample."""

    reason: str
    count: int
    sample_field: str
    sample_error: str


# The cap is checked in the statement: a class already kept is counted on; a new one is kept
# while the source has fewer than :cap classes, else counted as "other". (Two batches adding
# new classes at once may pass the cap by one each: it bounds, it need not be exact.)
_UPSERT = text(
    """
    WITH v AS (
        SELECT CAST(:tenant_id AS integer) AS tenant_id, CAST(:source AS varchar) AS source,
            CAST(:reason AS varchar) AS reason, CAST(:count AS bigint) AS count,
            CAST(:seen_at AS timestamptz) AS seen_at, CAST(:cap AS bigint) AS cap
    )
    INSERT INTO ingest_rejections AS r
        (tenant_id, source, reason, count, first_seen, last_seen, sample_field, sample_error)
    SELECT v.tenant_id, v.source,
        CASE WHEN EXISTS (SELECT 1 FROM ingest_rejections k
                          WHERE k.tenant_id = v.tenant_id AND k.source = v.source
                            AND k.reason = v.reason)
               OR (SELECT count(*) FROM ingest_rejections k
                   WHERE k.tenant_id = v.tenant_id AND k.source = v.source) < v.cap
             THEN v.reason ELSE :other END,
        v.count, v.seen_at, v.seen_at, :sample_field, :sample_error
    FROM v
    ON CONFLICT (tenant_id, source, reason) DO UPDATE SET
        count = r.count + excluded.count,
        first_seen = least(r.first_seen, excluded.first_seen),
        last_seen = greatest(r.last_seen, excluded.last_seen),
        sample_field = excluded.sample_field,
        sample_error = excluded.sample_error
    """
)


def record_rejections(
    conn: Connection,
    tenant_id: int,
    source: str,
    groups: Sequence[RejectionGroup],
    seen_at: datetime,
    cap: int = MAX_REASONS,
) -> None:
    """Count a batch's rejections into the tenant's rows."""
    # In reason order, so concurrent batches lock shared rows in one order (no deadlock).
    params = [
        {
            "tenant_id": tenant_id,
            "source": source,
            "reason": g.reason,
            "count": g.count,
            "seen_at": seen_at,
            "sample_field": storable(g.sample_field[:256]),
            "sample_error": storable(g.sample_error[:MAX_SAMPLE_ERROR]),
            "cap": cap,
            "other": OTHER,
        }
        for g in sorted(groups, key=lambda g: g.reason)
    ]
    if params:
        conn.execute(_UPSERT, params)


def list_rejections(
    conn: Connection,
    tenant_id: int,
    start: datetime,
    end: datetime,
    source: str | None = None,
    limit: int = 500,
) -> list[Any]:
    """The tenant's reason classes seen in [start, end) (last seen at or after start, first seen
    before end), most recently seen first."""
    r = IngestRejection
    query = (
        select(
            r.source,
            r.reason,
            r.count,
            r.first_seen,
            r.last_seen,
            r.sample_field,
            r.sample_error,
        )
        .where(r.tenant_id == tenant_id, r.last_seen >= start, r.first_seen < end)
        .order_by(r.last_seen.desc(), r.source, r.reason)
        .limit(limit)
    )
    if source is not None:
        query = query.where(r.source == source)
    return list(conn.execute(query).all())


def unpriced_models(
    conn: Connection, tenant_id: int, start: datetime, end: datetime, limit: int = 50
) -> Sequence[Any]:
    """Stored requests of [start, end) left unpriced, per (provider, model as reported,
    reason): how many and when last; most first."""
    e = UsageEvent
    model = func.coalesce(e.reported_model, e.model, "").label("model")
    reason = func.coalesce(e.unpriced_reason, "").label("reason")
    return conn.execute(
        select(
            e.provider,
            model,
            reason,
            func.count().label("requests"),
            func.max(e.occurred_at).label("last_seen"),
        )
        .where(
            e.tenant_id == tenant_id,
            e.occurred_at >= start,
            e.occurred_at < end,
            e.cost.is_(None),
        )
        .group_by(e.provider, model, reason)
        .order_by(func.count().desc(), e.provider, model)
        .limit(limit)
    ).all()
