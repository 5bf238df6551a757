"""The times cachemeter accepts: UTC instants and months within one supported range.

Every date, time and month that enters (bodies, query parameters, CLI options, payloads) is
read here, so an edge such as `0001-01-01T00:00:00+14:00` (before year 1 once in UTC) or
month `9999-12` (its end is year 10000) is a named refusal, never an overflow further on.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Annotated

from pydantic import BeforeValidator, Field, WithJsonSchema

SUPPORTED_FROM = datetime(1970, 1, 1, tzinfo=UTC)
# Exclusive: the last supported month is 2199-12.
SUPPORTED_TO = datetime(2200, 1, 1, tzinfo=UTC)
SUPPORTED = f"{SUPPORTED_FROM.year}-01-01 to {SUPPORTED_TO.year - 1}-12-31 (UTC)"
_YEARS = r"(19[7-9][0-9]|2[01][0-9]{2})"
# YYYY-MM within the supported years, as a JSON Schema pattern (ECMA and Python alike).
MONTH_PATTERN = rf"^{_YEARS}-(0[1-9]|1[0-2])$"
# An ISO 8601 date, or date and time with an optional zone, within the supported years: what
# every time parameter and field accepts (no unix numbers, no week or ordinal dates).
MOMENT_PATTERN = (
    rf"^{_YEARS}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,9})?)?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?)?$"
)
_MOMENT = re.compile(MOMENT_PATTERN)


class OutOfRange(ValueError):
    """A time that cannot be read or lies outside the supported range."""


def in_utc(moment: datetime) -> datetime:
    """`moment` in UTC (no zone means UTC), within the supported range; else OutOfRange."""
    try:
        utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (OverflowError, ValueError):
        # astimezone past year 1 or 9999 overflows.
        raise OutOfRange(f"must be within {SUPPORTED}") from None
    if not SUPPORTED_FROM <= utc < SUPPORTED_TO:
        raise OutOfRange(f"must be within {SUPPORTED}, got {utc.isoformat()}")
    return utc


def parse_moment(text: str) -> datetime:
    """An ISO 8601 date (its midnight) or time, in UTC, within the supported range."""
    if not _MOMENT.match(text):
        raise OutOfRange(
            f"must be an ISO 8601 date or time (YYYY-MM-DD[THH:MM[:SS[.f]]][Z|±HH:MM])"
            f" within {SUPPORTED}, got {text[:40]!r}"
        )
    try:
        if len(text) == 10:
            return in_utc(datetime.combine(date.fromisoformat(text), time()))
        return in_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except OutOfRange:
        raise
    except ValueError:
        raise OutOfRange(f"not an ISO 8601 date or time: {text[:40]!r}") from None


def month_range(month: str) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) of a YYYY-MM month, in UTC."""
    try:
        first = date.fromisoformat(f"{month}-01") if len(month) == 7 else None
    except ValueError:
        first = None
    if first is None:
        raise OutOfRange(f"must be a month YYYY-MM, got {month[:40]!r}")
    start = in_utc(datetime.combine(first, time()))
    # At most 2200-01-01: the exclusive end of the range, never an overflow.
    end = datetime(first.year + first.month // 12, first.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def _moment(value: object) -> datetime:
    if isinstance(value, datetime):
        return in_utc(value)
    if not isinstance(value, str):
        raise OutOfRange(f"must be an ISO 8601 date or time string, got {type(value).__name__}")
    return parse_moment(value)


# A pydantic field: an ISO 8601 date or time (no zone = UTC), in UTC, in the supported range.
Moment = Annotated[
    datetime,
    BeforeValidator(_moment),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": MOMENT_PATTERN,
            "description": f"ISO 8601 date or time (no zone = UTC) within {SUPPORTED}",
        }
    ),
]
# A pydantic field: a month YYYY-MM in the supported range.
Month = Annotated[str, Field(pattern=MONTH_PATTERN, description=f"YYYY-MM within {SUPPORTED}")]
