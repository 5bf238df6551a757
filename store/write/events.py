"""Batched, idempotent writes of usage events.

Idempotency holds across months through the unpartitioned `usage_keys` table: a key is
claimed with INSERT … ON CONFLICT DO NOTHING in the same transaction as its event, so a
retry (even with another occurred_at) or a concurrent duplicate stores nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, text
from sqlalchemy.dialects.postgresql import JSONB

from store.models import UsageEvent, event_id_seq
from store.tenancy import scope_to_tenant


def stage_events(
    conn: Connection, tenant_id: int, rows: Sequence[Mapping[str, Any]]
) -> list[int | None]:
    """Claim the rows' (source, request_id) and stage the rows (column -> value, `tenant_id`
    and `id` added here) that claimed theirs; per row, the new event's id, or None if its key
    was already stored. `move_staged` then stores them in this transaction; until then
    `set_miss_hints` may restate their miss hints. Partitions must exist.

    The rest of the caller's transaction is scoped to the tenant (store.tenancy). Nothing here
    waits for another batch unless both carry the same keys.
    """
    if not rows:
        return []
    scope_to_tenant(conn, tenant_id)
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor:
        cursor.execute(_NEXT_IDS, (len(rows),))
        ids: list[int] = [i for (i,) in cursor.fetchall()]
        _stage(cursor, tenant_id, rows, ids)
        cursor.execute(_CLAIM)
        lost = {i for (i,) in cursor.fetchall()}
    return [None if i in lost else i for i in ids]


def set_miss_hints(conn: Connection, hints: Mapping[int, str | None]) -> None:
    """Restate the miss hints of staged events (event id -> hint)."""
    if hints:
        conn.execute(_SET_HINTS, {"ids": list(hints), "hints": list(hints.values())})


def move_staged(conn: Connection) -> None:
    """Store the staged events in usage_events (with one INSERT, which row-level security
    checks row by row). They stay staged until commit, for store.rollups.add_staged."""
    conn.exec_driver_sql(_MOVE)


# The session's staging table: a batch's new rows, from stage_events until its commit.
STAGING = "usage_events_staging"
_SET_HINTS = text(
    f"UPDATE {STAGING} s SET miss_hint = h.hint"
    " FROM unnest(CAST(:ids AS bigint[]), CAST(:hints AS text[])) AS h(id, hint)"
    " WHERE s.id = h.id"
)


_NEXT_IDS = f"SELECT nextval('{event_id_seq.name}') FROM generate_series(1, %s)"
# Every column but received_at, which the database fills in.
_COLUMNS = [c.name for c in UsageEvent.__table__.columns if c.name != "received_at"]
_JSON = [c for c in _COLUMNS if isinstance(UsageEvent.__table__.c[c].type, JSONB)]
_PLAIN = [c for c in _COLUMNS if c not in ("id", "tenant_id", *_JSON)]
_LIST = ", ".join(_COLUMNS)
_STAGED = ", ".join((*_PLAIN, *_JSON))
# Claim the batch's keys in key order (concurrent batches cannot deadlock), the first row of
# a key repeated within the batch winning; rows whose key was already claimed leave staging.
_CLAIM = f"""
    WITH claimed AS (
        INSERT INTO usage_keys (tenant_id, source, request_id, event_id, occurred_at)
        SELECT DISTINCT ON (source, request_id) tenant_id, source, request_id, id, occurred_at
        FROM {STAGING} WHERE request_id IS NOT NULL ORDER BY source, request_id, id
        ON CONFLICT DO NOTHING RETURNING event_id
    )
    DELETE FROM {STAGING} s
    WHERE s.request_id IS NOT NULL AND NOT EXISTS (SELECT FROM claimed WHERE event_id = s.id)
    RETURNING s.id
"""
_MOVE = f"INSERT INTO usage_events ({_LIST}) SELECT {_LIST} FROM {STAGING}"


def _stage(cursor: Any, tenant_id: int, rows: Sequence[Mapping[str, Any]], ids: list[int]) -> None:
    """COPY the rows into the session's staging table, where the key claim, the move into
    usage_events and the rollups read them. Far cheaper than a many-row INSERT and, unlike
    COPY into the table itself, allowed under row-level security (whose policy then checks
    every moved row's tenant)."""
    # Lives as long as the pooled connection (always created by the application role, see
    # stage_events); emptied at every commit, so dead rows never pile up.
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {STAGING}"
        " (LIKE usage_events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    cursor.execute(f"DELETE FROM {STAGING}")  # an earlier batch of this transaction
    with cursor.copy(f"COPY {STAGING} (id, tenant_id, {_STAGED}) FROM STDIN") as copy:
        for row, event_id in zip(rows, ids, strict=True):
            copy.write_row(
                [
                    event_id,
                    tenant_id,
                    *map(row.get, _PLAIN),
                    *(_json_text(row.get(c)) for c in _JSON),
                ]
            )


def _json_text(value: Any) -> str:
    """JSON for a JSONB column: orjson (several times faster), stdlib json for what orjson
    refuses (integers past 64 bits, which a JSON document may carry)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)
