"""The 1-hour-TTL what-if, kept per request as events arrive.

A 5-minute write whose prefix's previous request came 5 to 60 minutes before would have been
a read with a 1-hour TTL; every other 5-minute write would still be written, at the 1-hour
rate (billing.economics.what_if_one_hour). A request's class depends only on the gap to the
previous request of its prefix (tenant, app, prefix, provider, model), so ingest classifies
each new request from its stored neighbours, and re-classifies the stored request right after
it (whose previous request it now is). Per-prefix advisory locks make concurrent batches of
one prefix take turns, so every batch sees the others' committed requests.

`CLASSIFIED_SQL` classifies the same way in SQL, for rebuilds and partial report hours; tests
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
    Call before anything else in the transaction locks rows."""
    hashes = sorted({lock_id(tenant_id, key) for key in keys})
    if hashes:
        conn.execute(
            text(
                "SELECT pg_advisory_xact_lock(:ns, h)"
                " FROM (SELECT h FROM unnest(CAST(:hashes AS int[])) AS h ORDER BY h) ordered"
            ),
            {"ns": PREFIX_LOCK, "hashes": hashes},
        ).all()


_NEIGHBOURS = text(
    """
    SELECT n.i, prev.occurred_at AS prev_at, prev.id AS prev_id,
        next.id AS next_id, next.occurred_at AS next_at, next.currency AS next_currency,
        next.cache_write_tokens - next.cache_write_1h_tokens AS next_short
    FROM unnest(CAST(:apps AS text[]), CAST(:prefixes AS text[]), CAST(:providers AS text[]),
        CAST(:models AS text[]), CAST(:times AS timestamptz[]), CAST(:ids AS bigint[]))
        WITH ORDINALITY AS n(app, prefix, provider, model, at, id, i)
    LEFT JOIN LATERAL (
        SELECT e.occurred_at, e.id FROM usage_events e
        WHERE e.tenant_id = :tenant AND coalesce(e.app, '') = n.app
            AND coalesce(e.prefix_hash, e.prompt_cache_key) = n.prefix
            AND e.provider = n.provider AND coalesce(e.model, '') = n.model
            AND (e.occurred_at, e.id) < (n.at, n.id)
            AND e.occurred_at >= n.at - interval '1 hour'
            AND NOT e.id = ANY(CAST(:new AS bigint[]))
        ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1
    ) prev ON true
    LEFT JOIN LATERAL (
        SELECT e.id, e.occurred_at, e.currency, e.cache_write_tokens, e.cache_write_1h_tokens
        FROM usage_events e
        WHERE e.tenant_id = :tenant AND coalesce(e.app, '') = n.app
            AND coalesce(e.prefix_hash, e.prompt_cache_key) = n.prefix
            AND e.provider = n.provider AND coalesce(e.model, '') = n.model
            AND (e.occurred_at, e.id) > (n.at, n.id)
            AND e.occurred_at <= n.at + interval '1 hour'
            AND NOT e.id = ANY(CAST(:new AS bigint[]))
        ORDER BY e.occurred_at, e.id LIMIT 1
    ) next ON true
    """
)


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


def _gap(later: datetime, earlier: datetime | None) -> float | None:
    return (later - earlier).total_seconds() if earlier is not None else None


def classify(
    conn: Connection, tenant_id: int, rows: Sequence[Mapping[str, Any]]
) -> dict[tuple[Any, ...], dict[str, int]]:
    """What-if sums per prefix_hourly key for newly stored rows (which carry their `id`),
    including the re-classification of the stored requests that follow them."""
    prefixed = [(prefix_key(r), r) for r in rows]
    new = [(key, r) for key, r in prefixed if key is not None]
    if not new:
        return {}
    found = conn.execute(
        _NEIGHBOURS,
        {
            "tenant": tenant_id,
            "apps": [key[0] or "" for key, _ in new],
            "prefixes": [key[1] for key, _ in new],
            "providers": [key[2] for key, _ in new],
            "models": [key[3] or "" for key, _ in new],
            "times": [r["occurred_at"] for _, r in new],
            "ids": [r["id"] for _, r in new],
            "new": [r["id"] for _, r in new],
        },
    ).all()
    neighbours = {row.i - 1: row for row in found}
    by_key: dict[Key, list[int]] = defaultdict(list)
    for index, (key, _) in enumerate(new):
        by_key[key].append(index)
    sums: dict[tuple[Any, ...], dict[str, int]] = {}
    for key, indexes in by_key.items():
        indexes.sort(key=lambda i: (new[i][1]["occurred_at"], new[i][1]["id"]))
        # The stored request after a run of new ones, and the last new request before it.
        followers: dict[int, tuple[Any, Mapping[str, Any]]] = {}
        previous_new: Mapping[str, Any] | None = None
        for i in indexes:
            row, near = new[i][1], neighbours[i]
            candidates = [(near.prev_at, near.prev_id)] if near.prev_at is not None else []
            if previous_new is not None:
                candidates.append((previous_new["occurred_at"], previous_new["id"]))
            before = max(candidates)[0] if candidates else None
            short = row["cache_write_tokens"] - row["cache_write_1h_tokens"]
            hit = would_hit(_gap(row["occurred_at"], before))
            _add(sums, (hour_of(row["occurred_at"]), *key, row.get("currency")), short, hit)
            if near.next_id is not None:
                followers[near.next_id] = (near, row)
            previous_new = row
        for near, last_new in followers.values():
            # Before this batch the follower's previous request was the stored one before
            # the new run (or none within the hour); now it is the run's last request.
            old = would_hit(_gap(near.next_at, near.prev_at))
            new_hit = would_hit(_gap(near.next_at, last_new["occurred_at"]))
            if old != new_hit:
                bucket = (hour_of(near.next_at), *key, near.next_currency)
                _add(sums, bucket, near.next_short, old, sign=-1)
                _add(sums, bucket, near.next_short, new_hit)
    return sums


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
