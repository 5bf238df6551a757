"""Dashboard queries. They read only the rollup tables (and the small cache_objects table),
never usage_events, so a page costs the same at ten million events as at ten thousand."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, case, func, literal_column, select

from store.models import DIMENSIONS, CacheObject, PrefixDaily, TtftDaily, UsageHourly
from store.rollups import MONEY, TOKENS

# What a view sums from the hourly rollups: counts, then money (reports.totals adds them up).
COUNT_SUMS = ("requests", "hit_requests", "unpriced_requests", *TOKENS)
MONEY_SUMS = (*MONEY, "write_premium")
SUMS = (*COUNT_SUMS, *MONEY_SUMS)
FIT_SUMS = ("fit_n", "fit_sx", "fit_sy", "fit_sxx", "fit_sxy", "fit_syy")
MISS_COLUMNS = (
    "miss_below_minimum",
    "miss_first_write",
    "miss_prefix_changed",
    "miss_ttl_expired",
    "miss_other",
)


@dataclass(frozen=True, slots=True)
class Filters:
    """A dashboard view: [start, end) plus optional equality filters on each dimension."""

    start: datetime
    end: datetime
    provider: str | None = None
    model: str | None = None
    app: str | None = None
    team: str | None = None
    environment: str | None = None
    # The IANA time zone whose days (weeks, months) day buckets are; hours are the rollups'.
    zone: str = "UTC"


def _where(table: Any, tenant_id: int, f: Filters, time_column: Any) -> Any:
    conditions = [table.tenant_id == tenant_id, time_column >= f.start, time_column < f.end]
    for dimension in DIMENSIONS:
        value = getattr(f, dimension)
        if value is not None and hasattr(table, dimension):
            conditions.append(getattr(table, dimension) == value)
    return and_(*conditions)


def _sums(columns: Sequence[str]) -> list[Any]:
    return [func.coalesce(func.sum(getattr(UsageHourly, c)), 0).label(c) for c in columns]


_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*")


def _zone(name: str) -> str:
    # Zones are written into the statement as literals (so GROUP BY matches the selected
    # expression; bind parameters would differ): only IANA-shaped names get there.
    if not _ZONE_NAME.fullmatch(name):
        raise ValueError(f"not a time zone name: {name!r}")
    return name


def truncate(bucket: str, column: Any, zone: str = "UTC") -> Any:
    """`column` cut to its UTC hour, or its day, week or month in `zone` (a chart's bucket)."""
    # Literal units for the same reason. An hour stays the rollup's UTC hour: in a zone half an
    # hour off UTC, truncating to its hours would label each rollup hour half an hour early.
    if bucket not in ("hour", "day", "week", "month"):
        raise ValueError(f"bucket must be hour, day, week or month, not {bucket!r}")
    zone = "UTC" if bucket == "hour" else _zone(zone)
    return func.date_trunc(literal_column(f"'{bucket}'"), column, literal_column(f"'{zone}'"))


def _bucket(bucket: str, zone: str) -> Any:
    return truncate(bucket, UsageHourly.hour, zone).label("bucket")


def totals(conn: Connection, tenant_id: int, f: Filters) -> Sequence[Any]:
    """Sums per currency (NULL currency: unpriced requests) for the view."""
    query: Select[Any] = (
        select(UsageHourly.currency, *_sums(SUMS))
        .where(_where(UsageHourly, tenant_id, f, UsageHourly.hour))
        .group_by(UsageHourly.currency)
    )
    return conn.execute(query).all()


def series(
    conn: Connection, tenant_id: int, f: Filters, bucket: str = "day", group_by: str | None = None
) -> Sequence[Any]:
    """Sums per time bucket (hour or day), optionally per dimension, and per currency."""
    time = _bucket(bucket, f.zone)
    keys = [time, UsageHourly.currency]
    if group_by:
        keys.append(getattr(UsageHourly, group_by).label("group"))
    query = (
        select(*keys, *_sums(SUMS))
        .where(_where(UsageHourly, tenant_id, f, UsageHourly.hour))
        .group_by(*keys)
        .order_by(time)
    )
    return conn.execute(query).all()


def top_groups(
    conn: Connection, tenant_id: int, f: Filters, group_by: str, limit: int = 10
) -> Sequence[Any]:
    """The groups with the largest no-cache cost, with their sums per currency."""
    group = getattr(UsageHourly, group_by).label("group")
    return conn.execute(
        select(group, UsageHourly.currency, *_sums(SUMS))
        .where(_where(UsageHourly, tenant_id, f, UsageHourly.hour))
        .group_by(group, UsageHourly.currency)
        .order_by(
            func.sum(UsageHourly.nocache_cost).desc().nulls_last(),
            func.sum(UsageHourly.requests).desc(),
        )
        .limit(limit)
    ).all()


def misses(conn: Connection, tenant_id: int, f: Filters) -> dict[str, int]:
    """Requests without a cache read, by likely cause."""
    row = conn.execute(
        select(*_sums(MISS_COLUMNS)).where(_where(UsageHourly, tenant_id, f, UsageHourly.hour))
    ).one()
    return {c.removeprefix("miss_"): int(getattr(row, c)) for c in MISS_COLUMNS}


def heatmap(conn: Connection, tenant_id: int, f: Filters) -> Sequence[Any]:
    """Cache reads and input per (provider, ISO weekday, UTC hour of day)."""
    # The zone's weekday and hour of day (a half-hour zone puts each rollup hour in the hour it
    # starts in).
    local = func.timezone(literal_column(f"'{_zone(f.zone)}'"), UsageHourly.hour)
    dow = func.extract("isodow", local).label("dow")
    hour = func.extract("hour", local).label("hour_of_day")
    return conn.execute(
        select(
            UsageHourly.provider,
            dow,
            hour,
            *_sums(("cache_read_tokens", "input_tokens", "requests")),
        )
        .where(_where(UsageHourly, tenant_id, f, UsageHourly.hour))
        .group_by(UsageHourly.provider, dow, hour)
    ).all()


def latency_fit(conn: Connection, tenant_id: int, f: Filters) -> Sequence[Any]:
    """Per model: least-squares sums of TTFT (ms) against uncached input tokens."""
    return conn.execute(
        select(UsageHourly.model, *_sums(FIT_SUMS))
        .where(_where(UsageHourly, tenant_id, f, UsageHourly.hour))
        .group_by(UsageHourly.model)
    ).all()


def ttft_histogram(
    conn: Connection,
    tenant_id: int,
    f: Filters,
    *,
    by_model: bool = False,
    bucket: str | None = None,
) -> Sequence[Any]:
    """TTFT bucket counts per cache hit (and model, and per day or coarser when asked)."""
    columns: list[Any] = [TtftDaily.cache_hit, TtftDaily.bucket]
    if by_model:
        columns.append(TtftDaily.model)
    if bucket:
        # Its rows are UTC days: they cannot be cut at another zone's midnight.
        columns.append(truncate(bucket, TtftDaily.day).label("time"))
    return conn.execute(
        select(*columns, func.sum(TtftDaily.requests).label("requests"))
        .where(_where(TtftDaily, tenant_id, f, TtftDaily.day))
        .group_by(*columns)
    ).all()


PREFIX_KEYS = ("app", "prefix", "provider", "model", "currency")
PREFIX_COUNTS = (
    "requests",
    "hit_requests",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
)
PREFIX_MONEY = ("cost", "nocache_cost")


def prefix_sums(
    conn: Connection, tenant_id: int, f: Filters, top: int | None = None
) -> list[dict[str, Any]]:
    """Every cache prefix of the view (per app, provider, model and currency) with its
    request, token and money sums; reports.prefixes ranks them.

    With `top`: only the `top` largest of each currency (by |savings|, by input tokens where
    unpriced) and, for the rest, one row per currency and whether they lost money with their
    sums and how many they are (`folded`; keys None), so a page reads a few rows whatever the
    number of prefixes. Each row then has `whole`: its currency's |savings| (or input tokens)
    summed over every prefix."""
    p = PrefixDaily
    keys = [getattr(p, k) for k in PREFIX_KEYS]
    sums = [func.sum(getattr(p, c)).label(c) for c in (*PREFIX_COUNTS, *PREFIX_MONEY)]
    grouped = select(*keys, *sums).where(_where(p, tenant_id, f, p.day)).group_by(*keys)
    if top is None:
        return [dict(row._mapping) for row in conn.execute(grouped)]
    g = grouped.subquery()
    saved = g.c.nocache_cost - g.c.cost
    weight = case((g.c.currency.is_(None), g.c.input_tokens), else_=func.abs(saved))
    ranked = select(
        g,
        func.coalesce(saved < 0, False).label("loses"),
        func.row_number()
        .over(
            partition_by=g.c.currency,
            order_by=(weight.desc(), g.c.input_tokens.desc(), *(g.c[k] for k in PREFIX_KEYS)),
        )
        .label("rank"),
        func.sum(weight).over(partition_by=g.c.currency).label("whole"),
    ).subquery()
    columns = [ranked.c[c] for c in (*PREFIX_KEYS, *PREFIX_COUNTS, *PREFIX_MONEY, "whole")]
    shown = conn.execute(select(*columns).where(ranked.c.rank <= top)).all()
    rest = conn.execute(
        select(
            ranked.c.currency,
            *(func.sum(ranked.c[c]).label(c) for c in (*PREFIX_COUNTS, *PREFIX_MONEY)),
            func.count().label("folded"),
            func.max(ranked.c.whole).label("whole"),
        )
        .where(ranked.c.rank > top)
        .group_by(ranked.c.currency, ranked.c.loses)
    ).all()
    folded = [{**dict.fromkeys(PREFIX_KEYS), **row._mapping} for row in rest]
    return [dict(row._mapping) for row in shown] + folded


def storage(conn: Connection, tenant_id: int, f: Filters, by: str | None = "day") -> Sequence[Any]:
    """Explicit-cache storage cost of the caches created in the view, per currency and `by`:
    a time bucket (hour, day, week, month) or a dimension, in a column of that name; None for
    the view's total."""
    keys: list[Any] = [CacheObject.currency]
    if by in DIMENSIONS:
        keys.append(getattr(CacheObject, by).label("group"))
    elif by is not None:
        keys.append(truncate(by, CacheObject.created_at, f.zone).label("bucket"))
    return conn.execute(
        select(*keys, func.sum(CacheObject.cost_storage).label("storage"))
        .where(
            _where(CacheObject, tenant_id, f, CacheObject.created_at),
            CacheObject.cost_storage.is_not(None),
        )
        .group_by(*keys)
    ).all()


def dimension_values(
    conn: Connection, tenant_id: int, start: datetime, end: datetime
) -> dict[str, list[str]]:
    """The values each filter can take in a period."""
    out = {}
    for dimension in DIMENSIONS:
        column = getattr(UsageHourly, dimension)
        rows = conn.execute(
            select(column)
            .distinct()
            .where(
                UsageHourly.tenant_id == tenant_id,
                UsageHourly.hour >= start,
                UsageHourly.hour < end,
                column.is_not(None),
            )
            .order_by(column)
        )
        out[dimension] = [r[0] for r in rows]
    return out


def recent_providers(conn: Connection, since: datetime, limit: int = 200) -> list[str]:
    """Providers with traffic since `since`, across tenants (an unscoped connection: the
    operator's metrics), for the counters alert rules need at 0 from the start."""
    query = (
        select(UsageHourly.provider)
        .where(UsageHourly.hour >= since)
        .group_by(UsageHourly.provider)
        .order_by(UsageHourly.provider)
        .limit(limit)
    )
    return [str(p) for (p,) in conn.execute(query)]
