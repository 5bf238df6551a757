"""The last request seen per (tenant, app, cache key), for history-based miss causes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import Connection, select, tuple_
from sqlalchemy.dialects.postgresql import insert

from store.models import PrefixState

Key = tuple[str, str]  # (app, cache key); "" where absent


def lock_states(
    conn: Connection, tenant_id: int, keys: Iterable[Key]
) -> dict[Key, tuple[str | None, datetime]]:
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
    return {(r.app, r.cache_key): (r.prefix_hash, r.last_seen) for r in rows}


def save_states(
    conn: Connection, tenant_id: int, states: Mapping[Key, tuple[str | None, datetime]]
) -> None:
    """Store the latest state per key (never moving last_seen backwards)."""
    if not states:
        return
    statement = insert(PrefixState).values(
        [
            {
                "tenant_id": tenant_id,
                "app": app,
                "cache_key": key,
                "prefix_hash": prefix,
                "last_seen": seen,
            }
            for (app, key), (prefix, seen) in sorted(states.items())
        ]
    )
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["tenant_id", "app", "cache_key"],
            set_={
                "prefix_hash": statement.excluded.prefix_hash,
                "last_seen": statement.excluded.last_seen,
            },
            where=PrefixState.last_seen <= statement.excluded.last_seen,
        )
    )
