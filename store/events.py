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
from sqlalchemy import Connection, func, select, text
from sqlalchemy.dialects.postgresql import JSONB

from store.models import UsageEvent, event_id_seq
from store.tenancy import scope_to_tenant


def insert_events(
    conn: Connection, tenant_id: int, rows: Sequence[Mapping[str, Any]]
) -> list[int | None]:
    """Store rows (column -> value, `tenant_id` and `id` added here); per row, the new event's
    id, or None if its (source, request_id) was already stored. Partitions must exist.

    The rest of the caller's transaction is scoped to the tenant (store.tenancy).
    """
    if not rows:
        return []
    scope_to_tenant(conn, tenant_id)
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
        keys = list(claims.items())
        # One statement over arrays: no per-row SQL to build, however large the batch.
        won = conn.execute(
            text(
                "INSERT INTO usage_keys (tenant_id, source, request_id, event_id, occurred_at)"
                " SELECT :tenant, * FROM unnest(CAST(:sources AS text[]), CAST(:ids AS text[]),"
                " CAST(:events AS bigint[]), CAST(:times AS timestamptz[]))"
                " ON CONFLICT DO NOTHING RETURNING source, request_id"
            ),
            {
                "tenant": tenant_id,
                "sources": [source for (source, _), _ in keys],
                "ids": [request_id for (_, request_id), _ in keys],
                "events": [ids[index] for _, index in keys],
                "times": [rows[index]["occurred_at"] for _, index in keys],
            },
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
        _copy_events(conn, to_write)
    return [ids[index] if new else None for index, new in enumerate(stored)]


# Every column but received_at, which the database fills in.
_COLUMNS = [c.name for c in UsageEvent.__table__.columns if c.name != "received_at"]
_JSON = {c.name for c in UsageEvent.__table__.columns if isinstance(c.type, JSONB)}


def _copy_events(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """COPY the rows into a session-local staging table, then move them with one INSERT:
    far cheaper than a many-row INSERT, and (unlike COPY into the table itself) allowed under
    row-level security, whose policy then checks every row's tenant."""
    raw = conn.connection.driver_connection
    assert raw is not None
    # Lives as long as the pooled connection (always created by the application role, see
    # insert_events); emptied at every commit.
    conn.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS usage_events_staging"
            " (LIKE usage_events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
    )
    columns = ", ".join(_COLUMNS)
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY usage_events_staging ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(
                    [_json_text(row.get(c)) if c in _JSON else row.get(c) for c in _COLUMNS]
                )
        # Moving the rows empties the staging table in the same statement; the commit then
        # truncates it (ON COMMIT DELETE ROWS), so dead rows never pile up.
        cursor.execute(
            f"WITH moved AS (DELETE FROM usage_events_staging RETURNING {columns})"
            f" INSERT INTO usage_events ({columns}) SELECT {columns} FROM moved"
        )


def _json_text(value: Any) -> str:
    """JSON for a JSONB column: orjson (several times faster), stdlib json for what orjson
    refuses (integers past 64 bits, which a JSON document may carry)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)
