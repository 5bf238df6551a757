"""Stored events completed by a later report of the same call (store side of ingest.merge)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, and_, or_, select, update

from store.models import UsageEvent, UsageKey
from store.rollups import apply_delta


def stored_events(
    conn: Connection, tenant_id: int, keys: Sequence[tuple[str, str]], *, lock: bool = True
) -> dict[tuple[str, str], dict[str, Any]]:
    """The stored events of (source, request_id) keys, as rows; with `lock`, locked until
    commit so two batches completing one event take turns."""
    if not keys:
        return {}
    e, k = UsageEvent.__table__, UsageKey.__table__
    wanted = or_(*(and_(k.c.source == s, k.c.request_id == r) for s, r in sorted(set(keys))))
    query = (
        select(e)
        .join(k, and_(k.c.tenant_id == e.c.tenant_id, k.c.event_id == e.c.id))
        .where(k.c.tenant_id == tenant_id, e.c.occurred_at == k.c.occurred_at, wanted)
        .order_by(e.c.id)
    )
    if lock:
        query = query.with_for_update(of=e)
    return {(row.source, row.request_id): dict(row._mapping) for row in conn.execute(query)}


# What a later report may not change of a stored event: its identity and time.
_FIXED = frozenset(("id", "tenant_id", "occurred_at", "source", "request_id", "received_at"))


def replace_events(
    conn: Connection, changes: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]
) -> None:
    """Store each (stored row, completed row) pair's completed values in place, and move the
    rollups from the one to the other."""
    if not changes:
        return
    table = UsageEvent.__table__
    assert isinstance(table, Table)
    for old, new in changes:
        values = {k: v for k, v in new.items() if k not in _FIXED and k in table.c}
        conn.execute(
            update(table)
            .where(
                table.c.tenant_id == old["tenant_id"],
                table.c.id == old["id"],
                table.c.occurred_at == old["occurred_at"],
            )
            .values(**values)
        )
    apply_delta(
        conn,
        [old for old, _ in changes],
        [{**old, **new, "tenant_id": old["tenant_id"]} for old, new in changes],
    )
