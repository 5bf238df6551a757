"""Batched, idempotent writes of usage events.

Idempotency holds across months through the unpartitioned `usage_keys` table: a key is
claimed with INSERT … ON CONFLICT DO NOTHING in the same transaction as its event, so a
retry (even with another occurred_at) or a concurrent duplicate stores nothing twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from store.models import UsageEvent, UsageKey, event_id_seq


def insert_events(
    conn: Connection, tenant_id: int, rows: Sequence[Mapping[str, Any]]
) -> list[bool]:
    """Store rows (column -> value, `tenant_id` added here); per row, True if stored and
    False if its (source, request_id) was already stored. Partitions must exist."""
    if not rows:
        return []
    ids = (
        conn.execute(
            select(func.nextval(event_id_seq.name)).select_from(func.generate_series(1, len(rows)))
        )
        .scalars()
        .all()
    )
    stored = [True] * len(rows)
    claims: dict[tuple[str, str], int] = {}
    for index, row in enumerate(rows):
        if row.get("request_id") is None:
            continue
        key = (row["source"], row["request_id"])
        if key in claims:
            stored[index] = False  # the same request twice in one batch
        else:
            claims[key] = index
    if claims:
        won = conn.execute(
            pg_insert(UsageKey)
            .values(
                [
                    {
                        "tenant_id": tenant_id,
                        "source": source,
                        "request_id": request_id,
                        "event_id": ids[index],
                        "occurred_at": rows[index]["occurred_at"],
                    }
                    for (source, request_id), index in claims.items()
                ]
            )
            .on_conflict_do_nothing()
            .returning(UsageKey.source, UsageKey.request_id)
        ).all()
        new_keys = {(r.source, r.request_id) for r in won}
        for key, index in claims.items():
            if key not in new_keys:
                stored[index] = False
    to_write = [
        {**row, "id": ids[index], "tenant_id": tenant_id}
        for index, row in enumerate(rows)
        if stored[index]
    ]
    if to_write:
        conn.execute(insert(UsageEvent), to_write)
    return stored
