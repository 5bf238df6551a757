"""Rollups (hourly usage, daily TTFT histograms and prefixes) kept exact as events arrive:
the dashboard reads these, never a full scan of usage_events.

Every rollup is defined once, as SQL sums over event rows (`ROLLUPS`). `add_staged` adds the
rows a batch has just stored (still in the session's staging table) in the same transaction,
upserting each rollup's keys in key order so that concurrent batches lock rollup rows in one
order and cannot deadlock; `apply_delta` takes re-priced events out at their old charge and in
at their new one; `rebuild` recomputes a range from usage_events with the same sums.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Connection, TextClause, text
from sqlalchemy.engine import Dialect

from store.models import CHARGE_MONEY, DIMENSIONS, TTFT_EDGES_MS, PrefixHourly
from store.whatif import PREFIX_SUMS, WHATIF, classified_sql
from store.write.events import STAGING

TOKENS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "uncached_input_tokens",
    "output_tokens",
)
MONEY = CHARGE_MONEY
MISSES = {
    "below_minimum_length": "miss_below_minimum",
    "first_write": "miss_first_write",
    "prefix_changed": "miss_prefix_changed",
    "ttl_expired": "miss_ttl_expired",
}
# Every rollup table and its time column.
ROLLUP_TIMES = (
    ("usage_hourly", "hour"),
    ("ttft_daily", "day"),
    ("prefix_daily", "day"),
    ("reported_hourly", "hour"),
    ("prefix_hourly", "hour"),
)

# Sums over the events that carry a reported charge; names match billing.reconcile.Totals.
REPORTED_TOKENS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
)
REPORTED_MONEY = ("cost_cache_read", "cost_cache_write_5m", "cost_cache_write_1h")
REPORTED_COUNTS = ("events", "unpriced", "reported", "computed", *REPORTED_TOKENS, *REPORTED_MONEY)
PREFIX_HOURLY_KEYS = ("hour", "app", "prefix", "provider", "model", "currency")
PREFIX_HOURLY_COUNTS = (
    "requests",
    "write_requests",
    "read_requests",
    "write_tokens",
    "read_tokens",
    "whatif_hit_requests",
    "whatif_hit_tokens",
    "whatif_rewrite_tokens",
)
PREFIX_HOURLY_MONEY = ("cost", "savings", "write_premium")

# The event columns the rollups read (a re-price stages just these).
ROLLUP_COLUMNS = (
    "tenant_id",
    "occurred_at",
    *DIMENSIONS,
    "currency",
    *TOKENS,
    *MONEY,
    "cost_write_premium",
    "miss_hint",
    "ttft_ms",
    "prefix_hash",
    "prompt_cache_key",
    "reported_cost",
)

_EDGES = "ARRAY[" + ",".join(repr(e) for e in TTFT_EDGES_MS) + "]::float8[]"
_HOUR = "date_trunc('hour', occurred_at, 'UTC')"
_DAY = "date_trunc('day', occurred_at, 'UTC')"
_PREFIX = "coalesce(prefix_hash, prompt_cache_key)"


@dataclass(frozen=True)
class _Sums:
    """SQL aggregates over event rows, each row weighted by `sign` (None: every row once)."""

    sign: str | None

    def count(self, where: str | None = None) -> str:
        """How many rows (meeting `where`)."""
        if self.sign is None:
            return f"count(*) FILTER (WHERE {where})" if where else "count(*)"
        return f"coalesce(sum({self.sign}){_filter(where)}, 0)"

    def total(self, expr: str, where: str | None = None, *, zero: bool = True) -> str:
        """The sum of `expr` (0 over no rows unless `zero` is off)."""
        weighted = expr if self.sign is None else f"{self.sign} * {expr}"
        aggregate = f"sum({weighted}){_filter(where)}"
        return f"coalesce({aggregate}, 0)" if zero else aggregate


def _filter(where: str | None) -> str:
    return f" FILTER (WHERE {where})" if where else ""


@dataclass(frozen=True)
class Rollup:
    """One rollup table: its key columns (SQL over an event row), the events it counts, and
    its sums."""

    table: str
    keys: tuple[tuple[str, str], ...]
    where: str | None
    sums: Callable[[_Sums], tuple[tuple[str, str], ...]]

    @property
    def groups(self) -> str:
        """The positions of tenant_id and the keys in `select`'s columns."""
        return ", ".join(str(i) for i in range(1, len(self.keys) + 2))

    def select(self, source: str, sign: str | None, where: str = "") -> str:
        """tenant_id, keys and sums per group of `source`'s rows."""
        conditions = " AND ".join(c for c in (self.where, where) if c)
        columns = [expr for _, expr in self.keys] + [expr for _, expr in self.sums(_Sums(sign))]
        return (
            f"SELECT tenant_id, {', '.join(columns)} FROM {source}"
            f"{' WHERE ' + conditions if conditions else ''} GROUP BY {self.groups}"
        )

    def columns(self) -> str:
        """The table's columns that `select` fills, in its order."""
        names = ["tenant_id", *(n for n, _ in self.keys), *(n for n, _ in self.sums(_Sums(None)))]
        return ", ".join(names)

    def add_sql(self, source: str, sign: str | None) -> str:
        """Add `source`'s sums into the table, in key order."""
        updates = ", ".join(
            f"{name} = {self.table}.{name} + excluded.{name}"
            for name, _ in self.sums(_Sums(None))
            if name not in WHATIF
        )
        return (
            f"INSERT INTO {self.table} ({self.columns()}) {self.select(source, sign)}"
            f" ORDER BY {self.groups} ON CONFLICT (tenant_id, {', '.join(n for n, _ in self.keys)})"
            f" DO UPDATE SET {updates}"
        )


def _usage_hourly(s: _Sums) -> tuple[tuple[str, str], ...]:
    miss = "cache_read_tokens = 0 AND "
    timed = "ttft_ms IS NOT NULL"
    x = "uncached_input_tokens::float8"
    return (
        ("requests", s.count()),
        ("hit_requests", s.count("cache_read_tokens > 0")),
        ("unpriced_requests", s.count("cost IS NULL")),
        *((t, s.total(t, zero=False)) for t in TOKENS),
        *((m, s.total(m)) for m in MONEY),
        ("write_premium", s.total("cost_write_premium")),
        *((column, s.count(f"{miss}miss_hint = '{hint}'")) for hint, column in MISSES.items()),
        (
            "miss_other",
            s.count(
                f"{miss}(miss_hint IS NULL OR miss_hint NOT IN"
                f" ({', '.join(repr(h) for h in MISSES)}))"
            ),
        ),
        ("fit_n", s.count(timed)),
        ("fit_sx", s.total(x, timed)),
        ("fit_sy", s.total("ttft_ms")),
        ("fit_sxx", s.total(f"{x} * uncached_input_tokens", timed)),
        ("fit_sxy", s.total(f"{x} * ttft_ms")),
        ("fit_syy", s.total("ttft_ms * ttft_ms")),
    )


def _prefix_daily(s: _Sums) -> tuple[tuple[str, str], ...]:
    return (
        ("requests", s.count()),
        ("hit_requests", s.count("cache_read_tokens > 0")),
        *(
            (t, s.total(t, zero=False))
            for t in ("input_tokens", "cache_read_tokens", "cache_write_tokens")
        ),
        ("cost", s.total("cost")),
        ("nocache_cost", s.total("nocache_cost")),
    )


def _reported_hourly(s: _Sums) -> tuple[tuple[str, str], ...]:
    return (
        ("events", s.count()),
        ("unpriced", s.count("cost IS NULL")),
        ("reported", s.total("reported_cost", zero=False)),
        ("computed", s.total("cost")),
        *((t, s.total(t, zero=False)) for t in REPORTED_TOKENS),
        *((m, s.total(m)) for m in REPORTED_MONEY),
    )


def _prefix_hourly(s: _Sums) -> tuple[tuple[str, str], ...]:
    """Everything but the what-if classes, which depend on each prefix's history
    (store.whatif) and are added by ingest alone."""
    return (
        ("requests", s.count()),
        ("write_requests", s.count("cache_write_tokens > 0")),
        ("read_requests", s.count("cache_read_tokens > 0")),
        ("write_tokens", s.total("cache_write_tokens", zero=False)),
        ("read_tokens", s.total("cache_read_tokens", zero=False)),
        *((column, "0") for column in WHATIF),
        ("cost", s.total("cost")),
        ("savings", s.total("savings")),
        ("write_premium", s.total("cost_write_premium")),
    )


_DIMENSION_KEYS = tuple((d, d) for d in DIMENSIONS)
ROLLUPS = (
    Rollup(
        "usage_hourly",
        (("hour", _HOUR), *_DIMENSION_KEYS, ("currency", "currency")),
        None,
        _usage_hourly,
    ),
    Rollup(
        "ttft_daily",
        (
            ("day", _DAY),
            *_DIMENSION_KEYS,
            ("cache_hit", "cache_read_tokens > 0"),
            ("bucket", f"width_bucket(ttft_ms, {_EDGES})"),
        ),
        "ttft_ms IS NOT NULL",
        lambda s: (("requests", s.count()),),
    ),
    Rollup(
        "prefix_daily",
        (
            ("day", _DAY),
            ("app", "app"),
            ("prefix", _PREFIX),
            ("provider", "provider"),
            ("model", "model"),
            ("currency", "currency"),
        ),
        f"{_PREFIX} IS NOT NULL",
        _prefix_daily,
    ),
    Rollup(
        "reported_hourly",
        (("hour", _HOUR), ("provider", "provider"), ("model", "model")),
        "reported_cost IS NOT NULL",
        _reported_hourly,
    ),
    Rollup(
        "prefix_hourly",
        (
            ("hour", _HOUR),
            ("app", "app"),
            ("prefix", _PREFIX),
            ("provider", "provider"),
            ("model", "model"),
            ("currency", "currency"),
        ),
        f"{_PREFIX} IS NOT NULL",
        _prefix_hourly,
    ),
)


@cache
def _add_statements(source: str, sign: str | None) -> tuple[TextClause, ...]:
    return tuple(text(rollup.add_sql(source, sign)) for rollup in ROLLUPS)


@cache
def _prefix_hourly_with_whatif(dialect: Dialect) -> TextClause:
    """prefix_hourly's sums of the staged rows and the batch's what-if classes (one array per
    key and class, :w_…) in one upsert: each of the batch's prefix hours is written once."""
    rollup = next(r for r in ROLLUPS if r.table == "prefix_hourly")
    table = PrefixHourly.__table__
    keys = [name for name, _ in rollup.keys]
    sums = [name for name, _ in rollup.sums(_Sums(None))]
    arrays = ", ".join(
        f"CAST(:w_{name} AS {table.c[name].type.compile(dialect=dialect)}[])"
        for name in (*keys, *WHATIF)
    )
    classes = ", ".join(f"w.{name}" if name in WHATIF else "0" for name in sums)
    groups = ", ".join(str(i) for i in range(1, len(keys) + 2))
    updates = ", ".join(f"{name} = prefix_hourly.{name} + excluded.{name}" for name in sums)
    return text(
        f"INSERT INTO prefix_hourly ({rollup.columns()})"
        f" SELECT tenant_id, {', '.join(keys)}, {', '.join(f'sum({n})' for n in sums)} FROM ("
        f"{rollup.select(STAGING, None)}"
        f" UNION ALL SELECT CAST(:tenant_id AS integer), {', '.join(f'w.{k}' for k in keys)},"
        f" {classes} FROM unnest({arrays}) AS w({', '.join((*keys, *WHATIF))})"
        f") AS batch ({rollup.columns()}) GROUP BY {groups} ORDER BY {groups}"
        f" ON CONFLICT (tenant_id, {', '.join(keys)}) DO UPDATE SET {updates}"
    )


def add_staged(
    conn: Connection,
    tenant_id: int,
    whatif: Mapping[tuple[Any, ...], Mapping[str, int]] | None = None,
) -> None:
    """Add the rows just stored from the staging table (store.write.events.STAGING) to every
    rollup; `whatif` (store.write.whatif.whatif_sums of those rows) goes into prefix_hourly
    with them."""
    for rollup, statement in zip(ROLLUPS, _add_statements(STAGING, None), strict=True):
        if not (whatif and rollup.table == "prefix_hourly"):
            conn.execute(statement)
    if whatif:
        params: dict[str, Any] = {"tenant_id": tenant_id}
        items = list(whatif.items())
        for position, name in enumerate(PREFIX_HOURLY_KEYS):
            params[f"w_{name}"] = [key[position] for key, _ in items]
        for name in WHATIF:
            params[f"w_{name}"] = [classes[name] for _, classes in items]
        conn.execute(_prefix_hourly_with_whatif(conn.dialect), params)


_DELTA = "rollup_delta"


def apply_delta(
    conn: Connection,
    old: Sequence[Mapping[str, Any]],
    new: Sequence[Mapping[str, Any]],
) -> None:
    """Take event rows out of every rollup as they were (`old`) and in as they are (`new`),
    in one pass: a re-price. The what-if classes do not depend on charges and stay."""
    conn.execute(
        text(
            f"CREATE TEMP TABLE IF NOT EXISTS {_DELTA} ON COMMIT DELETE ROWS AS SELECT"
            f" {', '.join(ROLLUP_COLUMNS)}, 1::smallint AS sign FROM usage_events WITH NO DATA"
        )
    )
    conn.execute(text(f"TRUNCATE {_DELTA}"))
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor:
        columns = ", ".join((*ROLLUP_COLUMNS, "sign"))
        with cursor.copy(f"COPY {_DELTA} ({columns}) FROM STDIN") as copy:
            for sign, rows in ((-1, old), (1, new)):
                for row in rows:
                    copy.write_row([*(row.get(c) for c in ROLLUP_COLUMNS), sign])
    for statement in _add_statements(_DELTA, "sign"):
        conn.execute(statement)


_RANGE = "occurred_at >= :start AND occurred_at < :end {tenant}"
# The what-if classes of a range need each request's previous one: classified_sql.
_PREFIX_HOURLY_REBUILD = f"""
    INSERT INTO prefix_hourly (tenant_id, hour, app, prefix, provider, model, currency,
        requests, write_requests, read_requests, write_tokens, read_tokens,
        whatif_hit_requests, whatif_hit_tokens, whatif_rewrite_tokens, cost, savings,
        write_premium)
    SELECT tenant_id, date_trunc('hour', occurred_at, 'UTC'), app, prefix, provider, model,
        currency, {PREFIX_SUMS}
    FROM ({classified_sql("{tenant}")}) classified
    GROUP BY 1, 2, 3, 4, 5, 6, 7
"""
REBUILD_SQL = (
    *(
        f"INSERT INTO {r.table} ({r.columns()}) {r.select('usage_events', None, _RANGE)}"
        for r in ROLLUPS
        if r.table != "prefix_hourly"
    ),
    _PREFIX_HOURLY_REBUILD,
)


def rebuild(conn: Connection, start: datetime, end: datetime, tenant_id: int | None = None) -> None:
    """Recompute every rollup for the whole UTC days covering [start, end) from usage_events."""
    start = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    last = end.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    end = last if last == end else last + timedelta(days=1)
    tenant = "AND tenant_id = :tenant_id" if tenant_id is not None else ""
    params = {"start": start, "end": end, "lo": start, "hi": end, "tenant_id": tenant_id}
    for table, column in ROLLUP_TIMES:
        conn.execute(
            text(f"DELETE FROM {table} WHERE {column} >= :start AND {column} < :end {tenant}"),
            params,
        )
    for statement in REBUILD_SQL:
        conn.execute(text(statement.format(tenant=tenant)), params)
