"""Per-prefix cache statistics, with the 1-hour what-if counts, for the cache economics report.

Whole hours come from `prefix_hourly`; only the partial hours at either end of the range are
read from the events (classified by the same rule, store.whatif).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select, text

from store.hours import hour_split
from store.models import PrefixHourly
from store.rollups import PREFIX_HOURLY_COUNTS, PREFIX_HOURLY_KEYS, PREFIX_HOURLY_MONEY
from store.whatif import PREFIX_SUMS, classified_sql

GROUP = PREFIX_HOURLY_KEYS[1:]
COUNTS = PREFIX_HOURLY_COUNTS
MONEY = PREFIX_HOURLY_MONEY

_EDGE = text(
    f"""
    SELECT app, prefix, provider, model, currency, {PREFIX_SUMS}
    FROM ({classified_sql("AND tenant_id = :tenant_id")}) classified
    GROUP BY 1, 2, 3, 4, 5
    """
)


def prefix_groups(
    conn: Connection, tenant_id: int, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Per (app, prefix, provider, model, currency) over [start, end): requests, writes,
    reads, tokens, money and the what-if counts; the worst net savings first."""
    hours, edges = hour_split(start, end)
    parts: list[Sequence[Any]] = []
    if hours is not None:
        p = PrefixHourly
        parts.append(
            conn.execute(
                select(
                    *[getattr(p, c) for c in GROUP],
                    *[func.sum(getattr(p, c)).label(c) for c in (*COUNTS, *MONEY)],
                )
                .where(p.tenant_id == tenant_id, p.hour >= hours[0], p.hour < hours[1])
                .group_by(*[getattr(p, c) for c in GROUP])
            ).all()
        )
    for lo, hi in edges:
        parts.append(conn.execute(_EDGE, {"tenant_id": tenant_id, "lo": lo, "hi": hi}).all())
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for rows in parts:
        for row in rows:
            key = tuple(getattr(row, c) for c in GROUP)
            group = groups.setdefault(
                key,
                {
                    **dict(zip(GROUP, key, strict=True)),
                    **dict.fromkeys(COUNTS, 0),
                    **{c: Decimal(0) for c in MONEY},
                },
            )
            for column in COUNTS:
                group[column] += int(getattr(row, column))
            for column in MONEY:
                group[column] += getattr(row, column)
    # Unpriced events add nothing to money and carry no currency: their groups show none.
    for group in groups.values():
        if group["currency"] is None:
            for column in MONEY:
                group[column] = None
    return sorted(
        groups.values(),
        key=lambda g: (g["savings"] is None, g["savings"] or 0, *(str(g[c]) for c in GROUP)),
    )
