"""Data lifecycle: partitions created ahead, raw payloads and old counts removed by retention.

Two horizons, set separately: raw payloads (the provider's usage object kept on each event,
the bulk of the bytes) are emptied after `raw_days`; whole event partitions, their
idempotency keys and the rollup rows of those months are dropped after `months`.
Dropping a partition is instant and leaves no bloat, which is why events are partitioned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, text

from store.partitions import (
    add_months,
    ensure_partitions,
    event_partitions,
    forget_partitions,
    month_of,
    partition_month,
    partition_name,
)
from store.rollups import ROLLUP_TIMES


@dataclass
class RetentionReport:
    """What one pass did (or, with dry_run, would do)."""

    created_ahead: list[str] = field(default_factory=list)
    dropped_partitions: list[str] = field(default_factory=list)
    keys_deleted: int = 0
    rollup_rows_deleted: int = 0
    raw_payloads_cleared: int = 0
    # ingest_rejections rows last seen before the counts horizon.
    rejection_rows_deleted: int = 0
    # ingest_outcomes_hourly rows of hours before the counts horizon.
    outcome_rows_deleted: int = 0


def counts_horizon(now: datetime, months: int) -> datetime:
    """The first instant still kept when counts are kept for `months` whole months before
    the current one (months=0 keeps only the current month)."""
    oldest = add_months(month_of(now), -months)
    return datetime(oldest.year, oldest.month, 1, tzinfo=UTC)


def _forget(conn: Connection, table: str, column: str, horizon: datetime, dry_run: bool) -> int:
    """Rows (of every tenant) of `table` whose `column` is before `horizon`: deleted, or
    counted when dry."""
    where, params = f"FROM {table} WHERE {column} < :horizon", {"horizon": horizon}
    if dry_run:
        return int(conn.execute(text(f"SELECT count(*) {where}"), params).scalar_one())
    return int(conn.execute(text(f"DELETE {where}"), params).rowcount)


def apply_retention(
    engine: Engine,
    now: datetime,
    *,
    months: int | None,
    raw_days: int | None,
    ahead: int = 2,
    dry_run: bool = False,
) -> RetentionReport:
    """Create the next `ahead` monthly partitions and apply both retention horizons
    (None keeps forever)."""
    report = RetentionReport()
    existing = set(event_partitions(engine))
    upcoming = [add_months(month_of(now), n) for n in range(ahead + 1)]
    report.created_ahead = [name for name in map(partition_name, upcoming) if name not in existing]
    if not dry_run:
        ensure_partitions(engine, upcoming)
    horizon = counts_horizon(now, months) if months is not None else None
    if horizon is not None:
        oldest_kept = partition_name(month_of(horizon))
        # Names sort by month (usage_events_pYYYY_MM).
        report.dropped_partitions = [p for p in sorted(existing) if p < oldest_kept]
        params = {"horizon": horizon}
        with engine.begin() as conn:
            report.keys_deleted = conn.execute(
                text("SELECT count(*) FROM usage_keys WHERE occurred_at < :horizon"), params
            ).scalar_one()
            for table, column in ROLLUP_TIMES:
                report.rollup_rows_deleted += conn.execute(
                    text(f"SELECT count(*) FROM {table} WHERE {column} < :horizon"), params
                ).scalar_one()
            # Ingest's counts: a rejection class by when it was last seen, outcomes by hour.
            report.rejection_rows_deleted = _forget(
                conn, "ingest_rejections", "last_seen", horizon, dry_run
            )
            report.outcome_rows_deleted = _forget(
                conn, "ingest_outcomes_hourly", "hour", horizon, dry_run
            )
            if not dry_run:
                # One transaction: counts and their keys go together or not at all.
                for name in report.dropped_partitions:
                    conn.execute(text(f"DROP TABLE {name}"))
                conn.execute(text("DELETE FROM usage_keys WHERE occurred_at < :horizon"), params)
                for table, column in ROLLUP_TIMES:
                    conn.execute(text(f"DELETE FROM {table} WHERE {column} < :horizon"), params)
        if not dry_run:
            forget_partitions(engine, map(partition_month, report.dropped_partitions))
    if raw_days is not None:
        where = "occurred_at < :cutoff AND raw <> '{}'::jsonb"
        raw_params: dict[str, datetime] = {"cutoff": now - timedelta(days=raw_days)}
        if horizon is not None:
            # Rows past the counts horizon are dropped above (or would be, in a dry run).
            where += " AND occurred_at >= :horizon"
            raw_params["horizon"] = horizon
        with engine.begin() as conn:
            if dry_run:
                report.raw_payloads_cleared = conn.execute(
                    text(f"SELECT count(*) FROM usage_events WHERE {where}"), raw_params
                ).scalar_one()
            else:
                report.raw_payloads_cleared = conn.execute(
                    text(f"UPDATE usage_events SET raw = '{{}}'::jsonb WHERE {where}"), raw_params
                ).rowcount
    return report
