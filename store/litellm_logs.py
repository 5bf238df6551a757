"""LiteLLM's spend logs, read from its own Postgres table (another service's database) for
`cachemeter ingest-litellm`: rows streamed with a server-side cursor."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

SPEND_LOG_COLUMNS = (
    "request_id",
    '"startTime"',
    '"endTime"',
    '"completionStartTime"',
    "model",
    "model_group",
    "custom_llm_provider",
    "spend",
    "prompt_tokens",
    "completion_tokens",
    "metadata",
    "cache_hit",
    "request_tags",
    "team_id",
    "end_user",
)


def spend_log_rows(
    dsn: str, since: datetime | None = None, table: str = '"LiteLLM_SpendLogs"'
) -> Iterator[dict[str, Any]]:
    """Rows of LiteLLM's spend-log table, streamed with a server-side cursor."""
    import psycopg
    from psycopg.rows import dict_row

    query = f"SELECT {', '.join(SPEND_LOG_COLUMNS)} FROM {table}"
    params: tuple[Any, ...] = ()
    if since is not None:
        query += ' WHERE "startTime" >= %s'
        params = (since,)
    query += ' ORDER BY "startTime"'
    with (
        psycopg.connect(dsn, row_factory=dict_row) as conn,
        conn.cursor(name="cachemeter_spend_logs") as cursor,
    ):
        cursor.itersize = 2000
        cursor.execute(query, params)
        yield from cursor
