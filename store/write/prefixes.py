"""The last request seen per (tenant, app, cache key), for history-based miss causes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import Connection, select, text, tuple_

from cache.misses import HistoryKey, PrefixSeen
from store.models import PrefixState


def lock_states(
    conn: Connection, tenant_id: int, keys: Iterable[HistoryKey]
) -> dict[HistoryKey, PrefixSeen]:
    """Current states of `keys`, locked for this transaction (in key order: no deadlocks)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = conn.execute(
        select(
            PrefixState.app, PrefixState.cache_key, PrefixState.prefix_hash, PrefixState.last_seen
        )
        .where(
            PrefixState.tenant_id == tenant_id,
            tuple_(PrefixState.app, PrefixState.cache_key).in_(wanted),
        )
        .order_by(PrefixState.app, PrefixState.cache_key)
        .with_for_update()
    )
    return {(r.app, r.cache_key): PrefixSeen(r.prefix_hash, r.last_seen) for r in rows}


def save_states(conn: Connection, tenant_id: int, states: Mapping[HistoryKey, PrefixSeen]) -> None:
    """Store the latest state per key (never moving last_seen backwards)."""
    if not states:
        return
    ordered = sorted(states.items(), key=lambda item: item[0])  # one lock order for batches
    # One fixed statement over arrays: a many-row VALUES would be compiled anew per batch.
    conn.execute(
        text(
            "INSERT INTO prefix_state (tenant_id, app, cache_key, prefix_hash, last_seen)"
            " SELECT :tenant, * FROM unnest(CAST(:apps AS text[]), CAST(:keys AS text[]),"
            " CAST(:prefixes AS text[]), CAST(:seen AS timestamptz[]))"
            " ON CONFLICT (tenant_id, app, cache_key) DO UPDATE"
            " SET prefix_hash = excluded.prefix_hash, last_seen = excluded.last_seen"
            " WHERE prefix_state.last_seen <= excluded.last_seen"
        ),
        {
            "tenant": tenant_id,
            "apps": [app for (app, _), _ in ordered],
            "keys": [key for (_, key), _ in ordered],
            "prefixes": [seen.prefix_hash for _, seen in ordered],
            "seen": [seen.at for _, seen in ordered],
        },
    )
