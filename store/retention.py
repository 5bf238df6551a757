"""Data lifecycle: partitions created ahead, raw payloads and old counts removed by retention.

Two horizons, set separately: raw payloads (the provider's usage object kept on each event,
the bulk of the bytes) are emptied after `raw_days`; whole event partitions, their
idempotency keys and the rollup rows of those months are dropped after `months`.
Dropping a partition is instant and leaves no bloat, which is why events are partitioned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, text

from store.partitions import (
    ensure_partitions,
    event_partitions,
    forget_partitions,
    month_of,
    partition_name,
)

ROLLUPS = (("usage_hourly", "hour"), ("ttft_daily", "day"), ("prefix_daily", "day"))


@dataclass
class RetentionReport:
    """What one pass did (or, with dry_run, would do)."""

    created_ahead: list[str] = field(default_factory=list)
    dropped_partitions: list[str] = field(default_factory=list)
    keys_deleted: int = 0
    rollup_rows_deleted: int = 0
    raw_payloads_cleared: int = 0


def _add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def counts_horizon(now: datetime, months: int) -> datetime:
    """The first instant still kept when counts are kept for `months` whole months before
    the current one (months=0 keeps only the current month)."""
    oldest = _add_months(month_of(now), -months)
    return datetime(oldest.year, oldest.month, 1, tzinfo=UTC)


def _month_of_name(name: str) -> date:
    year, month = name.removeprefix("usage_events_p").split("_")
    return date(int(year), int(month), 1)


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
    upcoming = [_add_months(month_of(now), n) for n in range(ahead + 1)]
    report.created_ahead = [
        partition_name(m) for m in upcoming if partition_name(m) not in existing
    ]
    if not dry_run:
        ensure_partitions(engine, upcoming)
    if months is not None:
        horizon = counts_horizon(now, months)
        oldest_kept = partition_name(month_of(horizon))
        # Names sort by month (usage_events_pYYYY_MM).
        old = [p for p in sorted(existing) if p < oldest_kept]
        report.dropped_partitions = old
        with engine.begin() as conn:
            params = {"horizon": horizon}
            report.keys_deleted = conn.execute(
                text("SELECT count(*) FROM usage_keys WHERE occurred_at < :horizon"), params
            ).scalar_one()
            for table, column in ROLLUPS:
                report.rollup_rows_deleted += conn.execute(
                    text(f"SELECT count(*) FROM {table} WHERE {column} < :horizon"), params
                ).scalar_one()
            if not dry_run:
                # One transaction: counts and their keys go together or not at all.
                for name in old:
                    conn.execute(text(f"DROP TABLE {name}"))
                forget_partitions(engine, [_month_of_name(n) for n in old])
                conn.execute(text("DELETE FROM usage_keys WHERE occurred_at < :horizon"), params)
                for table, column in ROLLUPS:
                    conn.execute(text(f"DELETE FROM {table} WHERE {column} < :horizon"), params)
    if raw_days is not None:
        params = {"cutoff": now - timedelta(days=raw_days)}
        where = "occurred_at < :cutoff AND raw <> '{}'::jsonb"
        if months is not None:
            # Rows past the counts horizon are dropped above (or would be, in a dry run).
            where += " AND occurred_at >= :horizon"
            params["horizon"] = counts_horizon(now, months)
        with engine.begin() as conn:
            if dry_run:
                report.raw_payloads_cleared = conn.execute(
                    text(f"SELECT count(*) FROM usage_events WHERE {where}"), params
                ).scalar_one()
            else:
                report.raw_payloads_cleared = conn.execute(
                    text(f"UPDATE usage_events SET raw = '{{}}'::jsonb WHERE {where}"), params
                ).rowcount
    return report
