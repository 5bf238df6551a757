"""The 1-hour-TTL what-if, kept per request as events arrive.

A 5-minute write whose prefix's previous request came 5 to 60 minutes before would have been
a read with a 1-hour TTL; every other 5-minute write would still be written, at the 1-hour
rate (billing.economics.what_if_one_hour). A request's class depends only on the gap to the
previous request of its prefix (tenant, app, prefix, provider, model), so ingest classifies
each new request from its stored neighbours, and re-classifies the stored requests whose
previous request is now a new one (a late arrival lands before them). Per-prefix advisory
locks, taken once a batch has claimed its request ids, make concurrent batches of one prefix
take turns from there to commit, so every batch sees the others' committed requests.

`classified_sql` classifies the same way in SQL, for rebuilds and partial report hours; tests
hold the incremental sums to it and to the per-request replay.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from billing.economics import FIVE_MINUTES, ONE_HOUR, would_hit
from store.hours import hour_of

# Advisory lock namespace of per-prefix what-if classification.
PREFIX_LOCK = 0x636D7766
WHATIF = ("whatif_hit_requests", "whatif_hit_tokens", "whatif_rewrite_tokens")

Key = tuple[str | None, str, str, str | None]  # app, prefix, provider, model


def prefix_key(row: Mapping[str, Any]) -> Key | None:
    """The what-if key of an event row; None when it names no prefix."""
    prefix = row.get("prefix_hash") or row.get("prompt_cache_key")
    if not prefix:
        return None
    return (row.get("app"), prefix, row["provider"], row.get("model"))


def lock_id(tenant_id: int, key: Key) -> int:
    """The advisory lock (second half, an int4) of one prefix."""
    return zlib.crc32(repr((tenant_id, *key)).encode()) - 2**31


def lock_prefixes(conn: Connection, tenant_id: int, keys: Iterable[Key]) -> None:
    """Take the keys' locks for this transaction, in one order (no deadlock between batches).
    Call before the transaction locks prefix state or rollup rows: then whoever holds a
    prefix lock waits only for locks that are taken after prefix locks."""
    hashes = sorted({lock_id(tenant_id, key) for key in keys})
    if hashes:
        conn.execute(
            text(
                "SELECT pg_advisory_xact_lock(:ns, h)"
                " FROM (SELECT h FROM unnest(CAST(:hashes AS int[])) AS h ORDER BY h) ordered"
            ),
            {"ns": PREFIX_LOCK, "hashes": hashes},
        ).all()


# Per prefix in the batch, before it is stored: the stored request just before the batch's
# earliest (within the hour), every stored request from its earliest to its latest instant,
# and the one just after its latest (within the hour). Three index probes per prefix.
# Written as the prefix index is (CASE, not COALESCE, which row-level security would keep
# out of the index conditions).
_APP = "CASE WHEN e.app IS NULL THEN '' ELSE e.app END"
_PREFIX = "CASE WHEN e.prefix_hash IS NULL THEN e.prompt_cache_key ELSE e.prefix_hash END"
_MODEL = "CASE WHEN e.model IS NULL THEN '' ELSE e.model END"
_MATCH = f"""
    e.tenant_id = :tenant AND {_APP} = k.app AND {_PREFIX} = k.prefix
    AND e.provider = k.provider AND {_MODEL} = k.model
    AND (e.prefix_hash IS NOT NULL OR e.prompt_cache_key IS NOT NULL)
"""
_COLUMNS = (
    "e.occurred_at, e.id, e.currency, e.cache_write_tokens - e.cache_write_1h_tokens AS short"
)
_STORED = text(
    f"""
    WITH k AS (
        SELECT * FROM unnest(CAST(:apps AS text[]), CAST(:prefixes AS text[]),
            CAST(:providers AS text[]), CAST(:models AS text[]),
            CAST(:lo AS timestamptz[]), CAST(:hi AS timestamptz[]))
            WITH ORDINALITY AS k(app, prefix, provider, model, lo, hi, i)
    )
    SELECT k.i, s.* FROM k CROSS JOIN LATERAL (
        SELECT {_COLUMNS} FROM usage_events e
        WHERE {_MATCH} AND e.occurred_at < k.lo AND e.occurred_at >= k.lo - interval '1 hour'
        ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1
    ) s
    UNION ALL
    SELECT k.i, s.* FROM k CROSS JOIN LATERAL (
        SELECT {_COLUMNS} FROM usage_events e
        WHERE {_MATCH} AND e.occurred_at >= k.lo AND e.occurred_at <= k.hi
        -- Ordered like the prefix index, and OFFSET 0 so that it stays a per-prefix probe
        -- of that index (pulled up into a join it could scan all the tenant's events).
        ORDER BY e.occurred_at, e.id OFFSET 0
    ) s
    UNION ALL
    SELECT k.i, s.* FROM k CROSS JOIN LATERAL (
        SELECT {_COLUMNS} FROM usage_events e
        WHERE {_MATCH} AND e.occurred_at > k.hi AND e.occurred_at <= k.hi + interval '1 hour'
        ORDER BY e.occurred_at, e.id LIMIT 1
    ) s
    """
)

Stored = dict[Key, list[Any]]


def stored_neighbours(
    conn: Connection, tenant_id: int, rows: Sequence[Mapping[str, Any]]
) -> Stored:
    """The stored requests around a batch's, per prefix; call under the batch's prefix locks,
    so that every batch committed before is seen, and before the batch is stored."""
    spans: dict[Key, tuple[datetime, datetime]] = {}
    for row in rows:
        key = prefix_key(row)
        if key is not None:
            at = row["occurred_at"]
            lo, hi = spans.get(key, (at, at))
            spans[key] = (min(lo, at), max(hi, at))
    if not spans:
        return {}
    keys = list(spans)
    found = conn.execute(
        _STORED,
        {
            "tenant": tenant_id,
            "apps": [key[0] or "" for key in keys],
            "prefixes": [key[1] for key in keys],
            "providers": [key[2] for key in keys],
            "models": [key[3] or "" for key in keys],
            "lo": [spans[key][0] for key in keys],
            "hi": [spans[key][1] for key in keys],
        },
    ).all()
    stored: Stored = defaultdict(list)
    for hit in found:
        stored[keys[hit.i - 1]].append(hit)
    return stored


def _add(
    sums: dict[tuple[Any, ...], dict[str, int]],
    key: tuple[Any, ...],
    short: int,
    hit: bool,
    sign: int = 1,
) -> None:
    if short <= 0:
        return
    column = sums.setdefault(key, dict.fromkeys(WHATIF, 0))
    if hit:
        column["whatif_hit_requests"] += sign
        column["whatif_hit_tokens"] += sign * short
    else:
        column["whatif_rewrite_tokens"] += sign * short


def _classes(timeline: Sequence[tuple[datetime, int]]) -> dict[int, bool]:
    """Each request's class (by id) from the gap to the one before it in `timeline`."""
    out = {}
    for previous, (at, event_id) in zip([None, *timeline], timeline, strict=False):
        out[event_id] = would_hit((at - previous[0]).total_seconds() if previous else None)
    return out


def classify(
    rows: Sequence[Mapping[str, Any]], stored: Stored
) -> dict[tuple[Any, ...], dict[str, int]]:
    """What-if sums per prefix_hourly key for newly stored rows (which carry their `id`),
    given `stored_neighbours` fetched before they were stored; including the
    re-classification of stored requests whose previous request is now a new one."""
    by_key: dict[Key, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        key = prefix_key(row)
        if key is not None:
            by_key[key].append(row)
    sums: dict[tuple[Any, ...], dict[str, int]] = {}
    for key, new in by_key.items():
        new.sort(key=lambda r: (r["occurred_at"], r["id"]))
        old = sorted(stored.get(key, ()), key=lambda r: (r.occurred_at, r.id))
        before = _classes([(r.occurred_at, r.id) for r in old])
        after = _classes(
            sorted(
                [(r.occurred_at, r.id) for r in old] + [(r["occurred_at"], r["id"]) for r in new]
            )
        )
        for row in new:
            short = row["cache_write_tokens"] - row["cache_write_1h_tokens"]
            bucket = (hour_of(row["occurred_at"]), *key, row.get("currency"))
            _add(sums, bucket, short, after[row["id"]])
        first_new = (new[0]["occurred_at"], new[0]["id"])
        for r in old:
            if (r.occurred_at, r.id) < first_new:
                # Nothing new precedes it (and its own previous request was not fetched
                # when it is the one before the batch): its class stands.
                continue
            if before[r.id] != after[r.id]:
                bucket = (hour_of(r.occurred_at), *key, r.currency)
                _add(sums, bucket, r.short, before[r.id], sign=-1)
                _add(sums, bucket, r.short, after[r.id])
    return sums


# prefix_hourly's sums over classified_sql rows, in prefix_hourly's column order.
PREFIX_SUMS = """
    count(*) AS requests, count(*) FILTER (WHERE cache_write_tokens > 0) AS write_requests,
    count(*) FILTER (WHERE cache_read_tokens > 0) AS read_requests,
    sum(cache_write_tokens) AS write_tokens, sum(cache_read_tokens) AS read_tokens,
    count(*) FILTER (WHERE short > 0 AND hit) AS whatif_hit_requests,
    coalesce(sum(short) FILTER (WHERE short > 0 AND hit), 0) AS whatif_hit_tokens,
    coalesce(sum(short) FILTER (WHERE short > 0 AND NOT hit), 0) AS whatif_rewrite_tokens,
    coalesce(sum(cost), 0) AS cost, coalesce(sum(savings), 0) AS savings,
    coalesce(sum(cost_write_premium), 0) AS write_premium
"""


def classified_sql(where: str) -> str:
    """Prefixed events of usage_events matching `where` (which may use :tenant_id, :lo,
    :hi) with `prefix`, `short` (5-minute write tokens) and `hit` (the what-if class), the
    previous request looked up in the hour before :lo."""
    return f"""
        SELECT *, coalesce(gap > {FIVE_MINUTES} AND gap <= {ONE_HOUR}, false) AS hit
        FROM (
            SELECT *, cache_write_tokens - cache_write_1h_tokens AS short,
                extract(epoch FROM occurred_at - lag(occurred_at) OVER (
                    PARTITION BY tenant_id, app, prefix, provider, model
                    ORDER BY occurred_at, id)) AS gap
            FROM (
                SELECT *, coalesce(prefix_hash, prompt_cache_key) AS prefix FROM usage_events
                WHERE coalesce(prefix_hash, prompt_cache_key) IS NOT NULL
                    AND occurred_at >= CAST(:lo AS timestamptz) - interval '1 hour'
                    AND occurred_at < :hi {where}
            ) keyed
        ) timed
        WHERE occurred_at >= :lo
    """
