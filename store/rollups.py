"""Rollups (hourly usage, daily TTFT histograms and prefixes) kept exact as events arrive:
the dashboard reads these, never a full scan of usage_events.

`apply_events` adds (or, with sign -1, removes) stored event rows in the same transaction that
writes or re-prices them. Keys are upserted in sorted order so concurrent batches lock rollup
rows in one order and cannot deadlock. `rebuild` recomputes a range from usage_events with SQL
that applies the same rules; tests hold the two to identical sums.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Connection, TextClause, text
from sqlalchemy.engine import Dialect

from store.hours import hour_of
from store.models import (
    TTFT_EDGES_MS,
    Base,
    PrefixDaily,
    PrefixHourly,
    ReportedHourly,
    TtftDaily,
    UsageHourly,
)
from store.whatif import PREFIX_SUMS, classified_sql

DIMENSIONS = ("provider", "model", "app", "team", "environment")
TOKENS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "uncached_input_tokens",
    "output_tokens",
)
MONEY = (
    "cost_uncached_input",
    "cost_cache_read",
    "cost_cache_write_5m",
    "cost_cache_write_1h",
    "cost_output",
    "cost",
    "nocache_cost",
    "savings",
)
MISSES = {
    "below_minimum_length": "miss_below_minimum",
    "first_write": "miss_first_write",
    "prefix_changed": "miss_prefix_changed",
    "ttl_expired": "miss_ttl_expired",
}
COUNTS = (
    "requests",
    "hit_requests",
    "unpriced_requests",
    *TOKENS,
    *MONEY,
    "write_premium",
    "miss_below_minimum",
    "miss_first_write",
    "miss_prefix_changed",
    "miss_ttl_expired",
    "miss_other",
    "fit_n",
    "fit_sx",
    "fit_sy",
    "fit_sxx",
    "fit_sxy",
)
# Every rollup table and its time column.
ROLLUP_TIMES = (
    ("usage_hourly", "hour"),
    ("ttft_daily", "day"),
    ("prefix_daily", "day"),
    ("reported_hourly", "hour"),
    ("prefix_hourly", "hour"),
)
PREFIX_COUNTS = (
    "requests",
    "hit_requests",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
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
REPORTED_DECIMALS = frozenset(("reported", "computed", *REPORTED_MONEY))
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


def ttft_bucket(ttft_ms: float) -> int:
    """The histogram bucket of a TTFT (same as SQL width_bucket over TTFT_EDGES_MS)."""
    return bisect_right(TTFT_EDGES_MS, ttft_ms)


def _contribution(row: Mapping[str, Any]) -> dict[str, Any]:
    hit = row["cache_read_tokens"] > 0
    out: dict[str, Any] = {
        "requests": 1,
        "hit_requests": int(hit),
        "unpriced_requests": int(row["cost"] is None),
        **{k: row[k] for k in TOKENS},
        **{k: row[k] if row[k] is not None else Decimal(0) for k in MONEY},
        "write_premium": row.get("cost_write_premium") or Decimal(0),
        **dict.fromkeys(
            (
                "miss_below_minimum",
                "miss_first_write",
                "miss_prefix_changed",
                "miss_ttl_expired",
                "miss_other",
            ),
            0,
        ),
        "fit_n": 0,
        "fit_sx": 0.0,
        "fit_sy": 0.0,
        "fit_sxx": 0.0,
        "fit_sxy": 0.0,
    }
    if not hit:
        out[MISSES.get(row.get("miss_hint") or "", "miss_other")] += 1
    ttft = row.get("ttft_ms")
    if ttft is not None:
        x = float(row["uncached_input_tokens"])
        out.update(fit_n=1, fit_sx=x, fit_sy=float(ttft), fit_sxx=x * x, fit_sxy=x * float(ttft))
    return out


@cache
def _upsert_sql(
    dialect: Dialect, model: type[Base], keys: tuple[str, ...], counts: tuple[str, ...]
) -> TextClause:
    """INSERT ... SELECT FROM unnest(one array per column) ... ON CONFLICT add: one fixed
    statement per table, compiled once, whatever the number of keys in a batch."""
    table = model.__table__
    table_name = model.__tablename__
    arrays = ", ".join(
        f"CAST(:{name} AS {table.c[name].type.compile(dialect=dialect)}[])"
        for name in (*keys, *counts)
    )
    updates = ", ".join(f"{c} = {table_name}.{c} + excluded.{c}" for c in counts)
    return text(
        f"INSERT INTO {table_name} (tenant_id, {', '.join((*keys, *counts))})"
        f" SELECT :tenant_id, * FROM unnest({arrays})"
        f" ON CONFLICT (tenant_id, {', '.join(keys)}) DO UPDATE SET {updates}"
    )


def _upsert(
    conn: Connection,
    model: type[Base],
    keys: tuple[str, ...],
    sums: dict[tuple[Any, ...], dict[str, Any]],
    tenant_id: int,
) -> None:
    if not sums:
        return
    # Sorted so concurrent batches lock rollup rows in one order (unnest keeps array order).
    ordered = sorted(sums.items(), key=lambda kv: tuple(str(k) for k in kv[0]))
    counts = tuple(ordered[0][1])
    params: dict[str, Any] = {"tenant_id": tenant_id}
    for position, name in enumerate(keys):
        params[name] = [key[position] for key, _ in ordered]
    for name in counts:
        params[name] = [column_sums[name] for _, column_sums in ordered]
    conn.execute(_upsert_sql(conn.dialect, model, keys, counts), params)


def apply_events(
    conn: Connection,
    tenant_id: int,
    rows: Iterable[Mapping[str, Any]],
    sign: int = 1,
    whatif: Mapping[tuple[Any, ...], Mapping[str, int]] | None = None,
) -> None:
    """Add (sign 1) or remove (sign -1) event rows' contributions to every rollup; `whatif`
    (store.whatif.classify of new rows) goes into prefix_hourly with them."""
    hourly: dict[tuple[Any, ...], dict[str, Any]] = {}
    ttft: dict[tuple[Any, ...], dict[str, Any]] = {}
    prefix: dict[tuple[Any, ...], dict[str, Any]] = {}
    reported: dict[tuple[Any, ...], dict[str, Any]] = {}
    prefix_hourly: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        hour = hour_of(row["occurred_at"])
        dims = tuple(row.get(d) for d in DIMENSIONS)
        sums = hourly.setdefault((hour, *dims, row.get("currency")), dict.fromkeys(COUNTS, 0))
        for column, value in _contribution(row).items():
            sums[column] += sign * value
        if row.get("ttft_ms") is not None:
            key = (
                hour.replace(hour=0),
                *dims,
                row["cache_read_tokens"] > 0,
                ttft_bucket(row["ttft_ms"]),
            )
            ttft.setdefault(key, {"requests": 0})["requests"] += sign
        cache_key = row.get("prefix_hash") or row.get("prompt_cache_key")
        if cache_key:
            day = hour.replace(hour=0)
            key = (day, row.get("app"), cache_key, row["provider"], row.get("model"))
            counts = prefix.setdefault(key, dict.fromkeys(PREFIX_COUNTS, 0))
            counts["requests"] += sign
            counts["hit_requests"] += sign * int(row["cache_read_tokens"] > 0)
            for column in ("input_tokens", "cache_read_tokens", "cache_write_tokens"):
                counts[column] += sign * row[column]
            # The what-if columns are ingest's (store.whatif): a re-price leaves them alone.
            hourly_key = (hour, *key[1:], row.get("currency"))
            sums = prefix_hourly.setdefault(hourly_key, empty_prefix_hourly())
            sums["requests"] += sign
            sums["write_requests"] += sign * int(row["cache_write_tokens"] > 0)
            sums["read_requests"] += sign * int(row["cache_read_tokens"] > 0)
            sums["write_tokens"] += sign * row["cache_write_tokens"]
            sums["read_tokens"] += sign * row["cache_read_tokens"]
            sums["cost"] += sign * (row["cost"] or 0)
            sums["savings"] += sign * (row.get("savings") or 0)
            sums["write_premium"] += sign * (row.get("cost_write_premium") or 0)
        if row.get("reported_cost") is not None:
            sums = reported.setdefault(
                (hour, row["provider"], row.get("model")),
                {c: Decimal(0) if c in REPORTED_DECIMALS else 0 for c in REPORTED_COUNTS},
            )
            sums["events"] += sign
            sums["unpriced"] += sign * int(row["cost"] is None)
            sums["reported"] += sign * row["reported_cost"]
            sums["computed"] += sign * (row["cost"] or 0)
            for column in REPORTED_TOKENS:
                sums[column] += sign * row[column]
            for column in REPORTED_MONEY:
                sums[column] += sign * (row[column] or 0)
    _upsert(conn, UsageHourly, ("hour", *DIMENSIONS, "currency"), hourly, tenant_id)
    _upsert(conn, TtftDaily, ("day", *DIMENSIONS, "cache_hit", "bucket"), ttft, tenant_id)
    _upsert(conn, PrefixDaily, ("day", "app", "prefix", "provider", "model"), prefix, tenant_id)
    _upsert(conn, ReportedHourly, ("hour", "provider", "model"), reported, tenant_id)
    for key, classes in (whatif or {}).items():
        # A re-classified stored request may sit in an hour this batch has no row for.
        sums = prefix_hourly.setdefault(key, empty_prefix_hourly())
        for column, value in classes.items():
            sums[column] += value
    _upsert(conn, PrefixHourly, PREFIX_HOURLY_KEYS, prefix_hourly, tenant_id)


def empty_prefix_hourly() -> dict[str, Any]:
    """A prefix_hourly row's sums, all zero."""
    return {
        **dict.fromkeys(PREFIX_HOURLY_COUNTS, 0),
        **{c: Decimal(0) for c in PREFIX_HOURLY_MONEY},
    }


_EDGES = "ARRAY[" + ",".join(repr(e) for e in TTFT_EDGES_MS) + "]::float8[]"

REBUILD_SQL = (
    """
    INSERT INTO usage_hourly (tenant_id, hour, provider, model, app, team, environment, currency,
        requests, hit_requests, unpriced_requests, input_tokens, cache_read_tokens,
        cache_write_tokens, cache_write_1h_tokens, uncached_input_tokens, output_tokens,
        cost_uncached_input, cost_cache_read, cost_cache_write_5m, cost_cache_write_1h,
        cost_output, cost, nocache_cost, savings, write_premium, miss_below_minimum,
        miss_first_write, miss_prefix_changed, miss_ttl_expired, miss_other,
        fit_n, fit_sx, fit_sy, fit_sxx, fit_sxy)
    SELECT tenant_id, date_trunc('hour', occurred_at, 'UTC'), provider, model, app, team,
        environment, currency, count(*), count(*) FILTER (WHERE cache_read_tokens > 0),
        count(*) FILTER (WHERE cost IS NULL), sum(input_tokens), sum(cache_read_tokens),
        sum(cache_write_tokens), sum(cache_write_1h_tokens), sum(uncached_input_tokens),
        sum(output_tokens), coalesce(sum(cost_uncached_input), 0),
        coalesce(sum(cost_cache_read), 0),
        coalesce(sum(cost_cache_write_5m), 0), coalesce(sum(cost_cache_write_1h), 0),
        coalesce(sum(cost_output), 0), coalesce(sum(cost), 0), coalesce(sum(nocache_cost), 0),
        coalesce(sum(savings), 0), coalesce(sum(cost_write_premium), 0),
        count(*) FILTER (WHERE cache_read_tokens = 0 AND miss_hint = 'below_minimum_length'),
        count(*) FILTER (WHERE cache_read_tokens = 0 AND miss_hint = 'first_write'),
        count(*) FILTER (WHERE cache_read_tokens = 0 AND miss_hint = 'prefix_changed'),
        count(*) FILTER (WHERE cache_read_tokens = 0 AND miss_hint = 'ttl_expired'),
        count(*) FILTER (WHERE cache_read_tokens = 0 AND (miss_hint IS NULL OR miss_hint NOT IN
            ('below_minimum_length', 'first_write', 'prefix_changed', 'ttl_expired'))),
        count(ttft_ms),
        coalesce(sum(uncached_input_tokens::float8) FILTER (WHERE ttft_ms IS NOT NULL), 0),
        coalesce(sum(ttft_ms), 0),
        coalesce(sum(uncached_input_tokens::float8 * uncached_input_tokens)
            FILTER (WHERE ttft_ms IS NOT NULL), 0),
        coalesce(sum(uncached_input_tokens::float8 * ttft_ms), 0)
    FROM usage_events WHERE occurred_at >= :start AND occurred_at < :end {tenant}
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    """,
    f"""
    INSERT INTO ttft_daily (tenant_id, day, provider, model, app, team, environment, cache_hit,
        bucket, requests)
    SELECT tenant_id, date_trunc('day', occurred_at, 'UTC'), provider, model, app, team,
        environment, cache_read_tokens > 0, width_bucket(ttft_ms, {_EDGES}), count(*)
    FROM usage_events
    WHERE ttft_ms IS NOT NULL AND occurred_at >= :start AND occurred_at < :end {{tenant}}
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
    """,
    """
    INSERT INTO prefix_daily (tenant_id, day, app, prefix, provider, model, requests, hit_requests,
        input_tokens, cache_read_tokens, cache_write_tokens)
    SELECT tenant_id, date_trunc('day', occurred_at, 'UTC'), app,
        coalesce(prefix_hash, prompt_cache_key), provider, model, count(*),
        count(*) FILTER (WHERE cache_read_tokens > 0), sum(input_tokens), sum(cache_read_tokens),
        sum(cache_write_tokens)
    FROM usage_events
    WHERE coalesce(prefix_hash, prompt_cache_key) IS NOT NULL AND occurred_at >= :start
        AND occurred_at < :end {tenant}
    GROUP BY 1, 2, 3, 4, 5, 6
    """,
    """
    INSERT INTO reported_hourly (tenant_id, hour, provider, model, events, unpriced, reported,
        computed, input_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens,
        cost_cache_read, cost_cache_write_5m, cost_cache_write_1h)
    SELECT tenant_id, date_trunc('hour', occurred_at, 'UTC'), provider, model, count(*),
        count(*) FILTER (WHERE cost IS NULL), sum(reported_cost), coalesce(sum(cost), 0),
        sum(input_tokens), sum(cache_read_tokens), sum(cache_write_tokens),
        sum(cache_write_1h_tokens), coalesce(sum(cost_cache_read), 0),
        coalesce(sum(cost_cache_write_5m), 0), coalesce(sum(cost_cache_write_1h), 0)
    FROM usage_events
    WHERE reported_cost IS NOT NULL AND occurred_at >= :start AND occurred_at < :end {tenant}
    GROUP BY 1, 2, 3, 4
    """,
    f"""
    INSERT INTO prefix_hourly (tenant_id, hour, app, prefix, provider, model, currency,
        requests, write_requests, read_requests, write_tokens, read_tokens,
        whatif_hit_requests, whatif_hit_tokens, whatif_rewrite_tokens, cost, savings,
        write_premium)
    SELECT tenant_id, date_trunc('hour', occurred_at, 'UTC'), app, prefix, provider, model,
        currency, {PREFIX_SUMS}
    FROM ({classified_sql("{tenant}")}) classified
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    """,
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
