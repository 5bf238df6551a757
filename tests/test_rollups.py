"""Rollups kept incrementally equal a rebuild from events, and the events' own sums, exactly."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text

from billing.catalogue import PriceSpec
from cachemeter.demo import demo_records
from cachemeter.finance import reprice
from store.models import TtftDaily, UsageEvent, UsageHourly
from store.prices import add_price
from store.rollups import rebuild

NOW = datetime(2026, 11, 24, tzinfo=UTC)
FLOATS = ("fit_sx", "fit_sy", "fit_sxx", "fit_sxy")


def _snapshot(engine: Engine, table: str, key: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT * FROM {table} ORDER BY {key}")).mappings().all()
    return [{k: v for k, v in row.items() if k != "id"} for row in rows]


def _assert_same(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> None:
    assert len(a) == len(b)
    for left, right in zip(a, b, strict=True):
        for column, value in left.items():
            if column in FLOATS:
                assert value == pytest.approx(right[column], rel=1e-9)
            else:
                assert value == right[column], column


HOURLY_KEY = (
    "tenant_id, hour, provider, model NULLS FIRST, app NULLS FIRST, team NULLS FIRST, "
    "environment NULLS FIRST, currency NULLS FIRST"
)


def _load_demo(client: TestClient, auth: dict[str, str]) -> None:
    records = demo_records(NOW, days=2)
    for i in range(0, len(records), 500):
        assert (
            client.post(
                "/v1/usage", json={"records": records[i : i + 500]}, headers=auth
            ).status_code
            == 200
        )
    # Duplicates must not be counted again.
    client.post("/v1/usage", json={"records": records[:100]}, headers=auth)


def test_incremental_equals_rebuild_and_event_sums(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    _load_demo(client, auth)
    hourly = _snapshot(engine, "usage_hourly", HOURLY_KEY)
    ttft = _snapshot(
        engine,
        "ttft_daily",
        "tenant_id, day, provider, model, app, team, environment, cache_hit, bucket",
    )
    prefix = _snapshot(engine, "prefix_daily", "tenant_id, day, app, prefix, provider, model")
    with engine.begin() as conn:
        rebuild(conn, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    _assert_same(hourly, _snapshot(engine, "usage_hourly", HOURLY_KEY))
    _assert_same(
        ttft,
        _snapshot(
            engine,
            "ttft_daily",
            "tenant_id, day, provider, model, app, team, environment, cache_hit, bucket",
        ),
    )
    _assert_same(
        prefix, _snapshot(engine, "prefix_daily", "tenant_id, day, app, prefix, provider, model")
    )
    with engine.connect() as conn:
        events = conn.execute(
            select(
                func.count(),
                func.sum(UsageEvent.cost),
                func.sum(UsageEvent.cache_read_tokens),
                func.count(UsageEvent.ttft_ms),
            )
        ).one()
        rolled = conn.execute(
            select(
                func.sum(UsageHourly.requests),
                func.sum(UsageHourly.cost),
                func.sum(UsageHourly.cache_read_tokens),
                func.sum(UsageHourly.fit_n),
            )
        ).one()
        histogram = conn.execute(select(func.sum(TtftDaily.requests))).scalar_one()
    assert tuple(rolled) == tuple(events)
    assert histogram == events[3]
    misses = sum(
        r["miss_below_minimum"]
        + r["miss_first_write"]
        + r["miss_prefix_changed"]
        + r["miss_ttl_expired"]
        + r["miss_other"]
        for r in hourly
    )
    assert misses == sum(r["requests"] - r["hit_requests"] for r in hourly)


def test_reprice_keeps_rollups_exact(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    _load_demo(client, auth)
    with engine.begin() as conn:
        # A negotiated price for every OpenAI model: the code-review app's events change.
        add_price(
            conn, PriceSpec(provider="openai", model="*", tenant="acme", discount_pct=Decimal(25))
        )
    report = reprice(
        engine,
        start=datetime(2026, 11, 1, tzinfo=UTC),
        end=datetime(2026, 12, 1, tzinfo=UTC),
        actor="t",
        reason="negotiated",
    )
    assert report.events_changed > 0
    incremental = _snapshot(engine, "usage_hourly", HOURLY_KEY)
    with engine.begin() as conn:
        rebuild(conn, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    _assert_same(incremental, _snapshot(engine, "usage_hourly", HOURLY_KEY))
