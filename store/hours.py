"""UTC hours: the key of the hourly rollups, and how a time range splits over them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def hour_of(moment: datetime) -> datetime:
    """The UTC hour `moment` falls in (its rollup key)."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hour_split(
    start: datetime, end: datetime
) -> tuple[tuple[datetime, datetime] | None, list[tuple[datetime, datetime]]]:
    """[start, end) as its whole hours (for the hourly rollups; None if there are none) and
    the partial hours at either end (for the events)."""
    first = hour_of(start)
    if first != start:
        first += timedelta(hours=1)
    last = hour_of(end)
    if first < last:
        return (first, last), [(lo, hi) for lo, hi in ((start, first), (last, end)) if lo < hi]
    return None, [(start, end)] if start < end else []
