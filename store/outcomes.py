"""The ingest_outcomes_hourly table: records ingest rejected, found duplicate or in conflict, per
(tenant, hour of arrival, source, outcome, reason class); upserted in the batch's transaction,
read over time for the API and the dashboard, aged out by store.retention."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, text

from billing.text import storable
from store.analytics import truncate
from store.hours import hour_of
from store.models import IngestOutcomeHourly
from store.rejections import MAX_REASONS, MAX_SAMPLE_ERROR, OTHER

OUTCOMES = ("rejected", "duplicate", "conflict")


@dataclass(frozen=True)
class OutcomeGroup:
    """A batch's records of one outcome and reason class: how many, and for a conflict the
    latest one's request id and what differed."""

    outcome: str
    reason: str
    count: int
    sample_request_id: str | None = None
    sample: str | None = None


# As in store.rejections, the cap is checked in the statement, here per (tenant, hour, source,
# outcome): a class already kept in the hour is counted on; a new one is kept while the hour
# has fewer than :cap classes of that outcome, else counted as "other". So a sender inventing
# reasons adds at most :cap rows an hour per outcome, whatever it sends.
_UPSERT = text(
    """
    WITH v AS (
        SELECT CAST(:tenant_id AS integer) AS tenant_id, CAST(:hour AS timestamptz) AS hour,
            CAST(:source AS varchar) AS source, CAST(:outcome AS varchar) AS outcome,
            CAST(:reason AS varchar) AS reason, CAST(:count AS bigint) AS count,
            CAST(:seen_at AS timestamptz) AS seen_at, CAST(:cap AS bigint) AS cap
    )
    INSERT INTO ingest_outcomes_hourly AS o
        (tenant_id, hour, source, outcome, reason, count, last_seen, sample_request_id, sample)
    SELECT v.tenant_id, v.hour, v.source, v.outcome,
        CASE WHEN EXISTS (SELECT 1 FROM ingest_outcomes_hourly k
                          WHERE k.tenant_id = v.tenant_id AND k.hour = v.hour
                            AND k.source = v.source AND k.outcome = v.outcome
                            AND k.reason = v.reason)
               OR (SELECT count(*) FROM ingest_outcomes_hourly k
                   WHERE k.tenant_id = v.tenant_id AND k.hour = v.hour
                     AND k.source = v.source AND k.outcome = v.outcome) < v.cap
             THEN v.reason ELSE :other END,
        v.count, v.seen_at, :sample_request_id, :sample
    FROM v
    ON CONFLICT (tenant_id, hour, source, outcome, reason) DO UPDATE SET
        count = o.count + excluded.count,
        last_seen = greatest(o.last_seen, excluded.last_seen),
        sample_request_id = coalesce(excluded.sample_request_id, o.sample_request_id),
        sample = coalesce(excluded.sample, o.sample)
    """
)


def record_outcomes(
    conn: Connection,
    tenant_id: int,
    source: str,
    groups: Sequence[OutcomeGroup],
    seen_at: datetime,
    cap: int = MAX_REASONS,
) -> None:
    """Count a batch's outcomes into the tenant's rows of the hour of `seen_at`, in the
    caller's transaction (the batch's own: counted if and only if the batch is)."""
    for g in groups:
        if g.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {g.outcome!r}")
    # In (outcome, reason) order, so concurrent batches lock shared rows in one order.
    params = [
        {
            "tenant_id": tenant_id,
            "hour": hour_of(seen_at),
            "source": source,
            "outcome": g.outcome,
            "reason": storable(g.reason[:200]),
            "count": g.count,
            "seen_at": seen_at,
            "cap": cap,
            "other": OTHER,
            "sample_request_id": None
            if g.sample_request_id is None
            else storable(g.sample_request_id[:256]),
            "sample": None if g.sample is None else storable(g.sample[:MAX_SAMPLE_ERROR]),
        }
        for g in sorted(groups, key=lambda g: (g.outcome, g.reason))
        if g.count > 0
    ]
    if params:
        conn.execute(_UPSERT, params)


def outcomes_over_time(
    conn: Connection,
    tenant_id: int,
    start: datetime,
    end: datetime,
    bucket: str = "hour",
    source: str | None = None,
    zone: str = "UTC",
) -> list[Any]:
    """The tenant's counts per (time bucket, source, outcome, reason) over the hours that
    start in [start, end), in time order; `bucket` is "hour" or "day" (of `zone`)."""
    o = IngestOutcomeHourly
    time = truncate(bucket, o.hour, zone).label("bucket")
    query = (
        select(time, o.source, o.outcome, o.reason, func.sum(o.count).label("count"))
        .where(o.tenant_id == tenant_id, o.hour >= start, o.hour < end)
        .group_by(time, o.source, o.outcome, o.reason)
        .order_by(time, o.source, o.outcome, o.reason)
    )
    if source is not None:
        query = query.where(o.source == source)
    return list(conn.execute(query).all())


def recent_conflicts(
    conn: Connection,
    tenant_id: int,
    start: datetime,
    end: datetime,
    source: str | None = None,
    limit: int = 20,
) -> list[Any]:
    """The latest conflict of each (hour, source, reason class) in the hours that start in
    [start, end): its request id and what differed, with the hour's count; newest first."""
    o = IngestOutcomeHourly
    query = (
        select(o.hour, o.source, o.reason, o.count, o.last_seen, o.sample_request_id, o.sample)
        .where(
            o.tenant_id == tenant_id,
            o.hour >= start,
            o.hour < end,
            o.outcome == "conflict",
        )
        .order_by(o.last_seen.desc(), o.source, o.reason)
        .limit(limit)
    )
    if source is not None:
        query = query.where(o.source == source)
    return list(conn.execute(query).all())
