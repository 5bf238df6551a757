"""The 1-hour-TTL what-if, kept per request as events arrive: a batch's prefix locks, the
stored neighbours of its requests, and the sums of their classes (cache.whatif).

A request's class depends only on the gap to the previous request of its prefix, so a batch
classifies its new requests against their stored neighbours and adds the counts to
prefix_hourly with its rollups. Per-prefix advisory locks, taken once a batch has claimed its
request ids, make concurrent batches of one prefix take turns from there to commit, so every
batch sees the others' committed requests. store.whatif.classified_sql classifies the same
way in SQL; tests hold the incremental sums to it and to the per-request replay.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from cache.whatif import Counted, Key, prefix_key
from store.hours import hour_of
from store.whatif import WHATIF

# Advisory lock namespace of per-prefix what-if classification.
PREFIX_LOCK = 0x636D7766


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


def whatif_sums(counted: Iterable[Counted]) -> dict[tuple[Any, ...], dict[str, int]]:
    """cache.whatif.classify's counts as sums per prefix_hourly key."""
    sums: dict[tuple[Any, ...], dict[str, int]] = {}
    for c in counted:
        column = sums.setdefault((hour_of(c.at), *c.key, c.currency), dict.fromkeys(WHATIF, 0))
        if c.hit:
            column["whatif_hit_requests"] += c.sign
            column["whatif_hit_tokens"] += c.sign * c.short
        else:
            column["whatif_rewrite_tokens"] += c.sign * c.short
    return sums
