"""Run a provider usage API collector for one tenant: page through, upsert, move the cursor."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine

from ingest.collectors.usage_apis import BUCKETS, UsageApi, pages
from store.provider_usage import advance, cursor, upsert_buckets


def collect(
    engine: Engine,
    tenant_id: int,
    api: UsageApi,
    *,
    base_url: str,
    key: str,
    now: datetime,
    width: str = "1h",
    since: datetime | None = None,
    backoff: float = 1.0,
) -> dict[str, Any]:
    """Fetch complete buckets since the cursor (one bucket back, to pick up late data) up to the
    last whole bucket before `now`. Each page commits on its own; the cursor moves only once
    every page is in, so an interrupted run is simply repeated (upserts never double-count)."""
    step = BUCKETS[width]
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    end = epoch + step * ((now - epoch) // step)
    with engine.connect() as conn:
        last = cursor(conn, tenant_id, f"{api.name}:{width}")
    start = last - step if last is not None else (since or end - timedelta(days=7))
    stored = 0
    if start < end:
        with httpx.Client(timeout=30) as client:
            for buckets in pages(api, client, base_url, key, start, end, width, backoff=backoff):
                rows = [
                    {k: v for k, v in asdict(b).items() if k not in ("start", "end")}
                    | {"bucket_start": b.start, "bucket_end": b.end}
                    for b in buckets
                ]
                with engine.begin() as conn:
                    stored += upsert_buckets(conn, tenant_id, rows)
        with engine.begin() as conn:
            advance(conn, tenant_id, f"{api.name}:{width}", end)
    return {
        "collector": api.name,
        "from": start.isoformat(),
        "until": end.isoformat(),
        "buckets": stored,
    }
