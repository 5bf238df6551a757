"""Miss causes from history: a prefix change or an idle gap longer than the provider's TTL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from store.models import UsageEvent
from tests.factories import anthropic_record

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def _hints(engine: Engine) -> dict[str, str | None]:
    with Session(engine) as session:
        return {str(e.request_id): e.miss_hint for e in session.scalars(select(UsageEvent))}


def test_causes_in_one_batch_and_across_batches(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    def rec(rid: str, minutes: int, prefix: str, **tokens: Any) -> dict[str, object]:
        return anthropic_record(
            request_id=rid,
            occurred_at=_at(minutes),
            app="bot",
            prompt_cache_key="sys",
            prefix_hash=prefix,
            **tokens,
        )

    first = [
        rec("write", 0, "v1", plain=10, write=4000),  # nothing before it: first write
        rec("hit", 2, "v1", plain=10, read=4000),
        rec("gap", 20, "v1", plain=10, write=4000),  # 18 min idle > Anthropic's 5 min
    ]
    # Sent out of order: the batch is read in time order.
    assert (
        client.post("/v1/usage", json={"records": first[::-1]}, headers=auth).json()["accepted"]
        == 3
    )
    second = [
        rec("changed", 21, "v2", plain=10, write=4000),  # new prefix_hash for the same key
        rec("short", 22, "v2", plain=500),  # below Claude Sonnet's 1,024-token minimum
        rec("other", 23, "v2", plain=3000),  # a miss with no write and no explanation
    ]
    assert client.post("/v1/usage", json={"records": second}, headers=auth).json()["accepted"] == 3
    assert _hints(engine) == {
        "write": "first_write",
        "hit": None,
        "gap": "ttl_expired",
        "changed": "prefix_changed",
        "short": "below_minimum_length",
        "other": None,
    }
    hit_rate = client.get(
        "/v1/reports/summary?start=2026-11-20&end=2026-11-21&group_by=app", headers=auth
    ).json()["groups"][0]["request_hit_rate"]
    assert hit_rate == 1 / 6
