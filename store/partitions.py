"""Monthly partitions of usage_events, created ahead of the rows that need them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from store.tenancy import APP_ROLE

_known: set[tuple[str, date]] = set()


def month_of(moment: datetime) -> date:
    """The first day of `moment`'s UTC month."""
    utc = moment.astimezone(UTC)
    return date(utc.year, utc.month, 1)


def add_months(month: date, count: int) -> date:
    """The first day of the month `count` months after (or, negative, before) `month`."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    """usage_events_p2026_11 for November 2026."""
    return f"usage_events_p{month.year:04d}_{month.month:02d}"


def partition_month(name: str) -> date:
    """The month of a partition name (the inverse of `partition_name`)."""
    year, month = name.removeprefix("usage_events_p").split("_")
    return date(int(year), int(month), 1)


def ensure_partitions(engine: Engine, months: Iterable[date]) -> None:
    """Create missing monthly partitions, each in its own short transaction.

    Kept out of the ingest transaction so the parent's lock is held only for the DDL.
    """
    key = engine.url.render_as_string(hide_password=True)
    for month in sorted(set(months)):
        if (key, month) in _known:
            continue
        ddl = text(
            f"CREATE TABLE IF NOT EXISTS {partition_name(month)} PARTITION OF usage_events "
            f"FOR VALUES FROM ('{month.isoformat()} 00:00:00+00') "
            f"TO ('{add_months(month, 1).isoformat()} 00:00:00+00')"
        )
        try:
            with engine.begin() as conn:
                conn.execute(ddl)
                # Partitions do not inherit the parent's row-level security: the application
                # role reaches events only through usage_events, where the policy applies.
                conn.execute(text(f"REVOKE ALL ON {partition_name(month)} FROM {APP_ROLE}"))
        except DBAPIError:
            # Another process created it between our check and our DDL; verify and go on.
            with engine.connect() as conn:
                found = conn.execute(
                    text("SELECT 1 FROM pg_class WHERE relname = :n"), {"n": partition_name(month)}
                ).first()
            if not found:
                raise
        _known.add((key, month))


def forget_partitions(engine: Engine, months: Iterable[date]) -> None:
    """Let `ensure_partitions` create these months again (after they were dropped)."""
    key = engine.url.render_as_string(hide_password=True)
    for month in months:
        _known.discard((key, month))


def event_partitions(engine: Engine) -> list[str]:
    """Names of the existing monthly partitions of usage_events, oldest first."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                    " WHERE i.inhparent = 'usage_events'::regclass ORDER BY c.relname"
                )
            ).scalars()
        )
