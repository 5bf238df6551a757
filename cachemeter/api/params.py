"""One type per kind of route parameter, bounded and described in the schema: a new route that
takes a time, a month, a key prefix or a name gets the limits (and the documentation) for free."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import HTTPException, Path, Query

from billing.moments import MONTH_PATTERN, SUPPORTED, SUPPORTED_FROM, Moment

# No NUL (PostgreSQL text cannot hold it); the RefuseNul middleware refuses it for any route.
NO_NUL = r"^[^\x00]+$"

Start = Annotated[
    Moment | None,
    Query(
        description=f"ISO date or time (UTC if no zone) within {SUPPORTED};"
        " default: 30 days before end"
    ),
]
End = Annotated[
    Moment | None,
    Query(description=f"ISO date or time, exclusive, within {SUPPORTED}; default: now"),
]
Month = Annotated[
    str, Query(pattern=MONTH_PATTERN, description=f"YYYY-MM (UTC) within {SUPPORTED}")
]
OptionalMonth = Annotated[
    str | None,
    Query(pattern=MONTH_PATTERN, description=f"YYYY-MM within {SUPPORTED}; default: this month"),
]
# A time series' bucket: UTC hours or days (what the hourly tables can be summed by).
Bucket = Annotated[
    Literal["hour", "day"], Query(description="hour or day (UTC) per point of the series")
]
# API keys are KEY_PREFIX + URL-safe base64; their prefix is the first 10 characters.
KeyPrefix = Annotated[
    str,
    Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="The key's prefix (its first characters)"),
]
# cachemeter.api.opaque ids: kind_ and 24 base32 characters.
OpaqueId = Annotated[str, Path(pattern=r"^[a-z]{1,16}_[a-z2-7]{24}$", description="an opaque id")]
Name = Annotated[str, Path(min_length=1, max_length=128, pattern=NO_NUL)]


def time_range(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """[start, end): end defaults to now, start to 30 days before end (or the supported
    range's start); a reversed or empty range is refused."""
    end_at = end or datetime.now(UTC)
    start_at = start or max(end_at - timedelta(days=30), SUPPORTED_FROM)
    if start_at >= end_at:
        raise HTTPException(422, "start: must be before end")
    return start_at, end_at
