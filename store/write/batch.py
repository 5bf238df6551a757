"""The one way a batch of usage events is written: every statement and lock, in its order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from cache.misses import explain_with_history, history_key
from cache.whatif import classify, prefix_key
from store.rollups import add_staged
from store.write.events import move_staged, set_miss_hints, stage_events
from store.write.prefixes import lock_states, save_states
from store.write.whatif import lock_prefixes, stored_neighbours, whatif_sums


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A row the batch stored: its event id and its miss hint, refined by its key's history."""

    id: int
    miss_hint: str | None


def store_batch(
    conn: Connection, tenant_id: int, rows: Sequence[dict[str, Any]]
) -> list[StoredEvent | None]:
    """Store event rows (usage_events column -> value, without `id` and `tenant_id`) in the
    caller's transaction; per row, what was stored, or None when its (source, request_id) was
    already stored (or came earlier in the batch). The months' partitions must exist
    (store.partitions.ensure_partitions, outside this transaction). Each new row's dict gets
    its `id` (the caller's own dicts: no copy per row).

    The order, and why:

    1. Stage the rows (COPY into the session's staging table) and claim their keys in key
       order. Only rows that won their key go on; a claim waits only for a concurrent batch
       carrying the same key, and it waits holding no prefix lock, so batches overlap in this
       part of their work and a key wait cannot deadlock with a prefix turn.
    2. Take the new rows' per-prefix advisory locks (in one order). From here to commit,
       batches of one prefix take turns, so each sees the requests of every batch committed
       before it: a prefix's history decides miss causes and the what-if. They come before
       any prefix-state or rollup row lock, so whoever holds a prefix lock waits only for
       locks taken after prefix locks.
    3. Miss hints: lock the prefix-state rows of the rows' (app, cache key)s (in key order),
       refine the hints in time order from each key's previous request, save each key's
       latest request, and restate the staged hints; all before the move, which copies the
       staged rows as they are.
    4. Fetch the stored neighbours of the new rows per prefix: under the prefix locks (every
       committed batch seen) and before the move (the batch does not see itself).
    5. Move the staged rows into usage_events (one INSERT, checked by row-level security).
    6. Add the staged rows to every rollup, with their what-if classes into prefix_hourly:
       last, so the most shared rows (every batch of an hour adds to them) stay locked for
       the shortest time; in key order, so concurrent batches cannot deadlock on them.
    """
    if not rows:
        return []
    ids = stage_events(conn, tenant_id, rows)
    new = []
    for row, event_id in zip(rows, ids, strict=True):
        if event_id is not None:
            row["id"] = event_id
            new.append(row)
    lock_prefixes(conn, tenant_id, {prefix for row in new if (prefix := prefix_key(row))})
    seen = lock_states(conn, tenant_id, {key for row in new if (key := history_key(row))})
    hints, latest = explain_with_history(new, seen)
    save_states(conn, tenant_id, latest)
    set_miss_hints(conn, hints)
    near = stored_neighbours(conn, tenant_id, new)
    move_staged(conn)
    add_staged(conn, tenant_id, whatif_sums(classify(new, near)))
    return [
        None
        if event_id is None
        else StoredEvent(event_id, hints.get(event_id, row.get("miss_hint")))
        for row, event_id in zip(rows, ids, strict=True)
    ]
