"""Explicit cache objects: stored once per (tenant, provider, name), updated when re-sent."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, literal_column
from sqlalchemy.dialects.postgresql import insert

from store.models import CacheObject


def upsert_cache(conn: Connection, tenant_id: int, values: dict[str, Any]) -> bool:
    """Store a cache, or update it (a longer TTL, a re-count); True when it was new."""
    statement = insert(CacheObject).values(tenant_id=tenant_id, **values)
    statement = statement.on_conflict_do_update(
        index_elements=["tenant_id", "provider", "name"],
        set_={k: statement.excluded[k] for k in values if k not in ("provider", "name")},
    )
    # xmax is 0 on a freshly inserted row version, not on an updated one.
    inserted: Any = conn.execute(statement.returning(literal_column("xmax = 0"))).scalar_one()
    return bool(inserted)
