"""Rollups kept incrementally equal a rebuild from events, and the events' own sums, exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text

from billing.catalogue import PriceSpec
from cachemeter.cli.demo import demo_records
from reports.reprice import reprice
from store.models import ReportedHourly, TtftDaily, UsageEvent, UsageHourly
from store.prices import add_price
from store.rollups import rebuild

NOW = datetime(2026, 11, 24, tzinfo=UTC)
FLOATS = ("fit_sx", "fit_sy", "fit_sxx", "fit_sxy", "fit_syy")


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


REPORTED_KEY = "tenant_id, hour, provider, model NULLS FIRST"
PREFIX_DAILY_KEY = (
    "tenant_id, day, app NULLS FIRST, prefix, provider, model NULLS FIRST, currency NULLS FIRST"
)
PREFIX_HOURLY_KEY = (
    "tenant_id, hour, app NULLS FIRST, prefix, provider, model NULLS FIRST, currency NULLS FIRST"
)


def _load_demo(client: TestClient, auth: dict[str, str]) -> None:
    records = demo_records(NOW, days=2)
    # Every third record carries a gateway's own charge (as OpenRouter's usage.cost would).
    for i, record in enumerate(records[::3]):
        record["reported_cost"] = f"0.{i % 997:06d}"
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
    prefix = _snapshot(engine, "prefix_daily", PREFIX_DAILY_KEY)
    reported = _snapshot(engine, "reported_hourly", REPORTED_KEY)
    assert reported
    prefix_hourly = _snapshot(engine, "prefix_hourly", PREFIX_HOURLY_KEY)
    assert any(r["whatif_hit_requests"] or r["whatif_rewrite_tokens"] for r in prefix_hourly)
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
    _assert_same(prefix, _snapshot(engine, "prefix_daily", PREFIX_DAILY_KEY))
    _assert_same(reported, _snapshot(engine, "reported_hourly", REPORTED_KEY))
    _assert_same(prefix_hourly, _snapshot(engine, "prefix_hourly", PREFIX_HOURLY_KEY))
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
        has_report = UsageEvent.reported_cost.is_not(None)
        reported_events = conn.execute(
            select(
                func.count(),
                func.sum(UsageEvent.reported_cost),
                func.sum(UsageEvent.cost),
                func.sum(UsageEvent.cost_cache_write_5m),
            ).where(has_report)
        ).one()
        reported_rolled = conn.execute(
            select(
                func.sum(ReportedHourly.events),
                func.sum(ReportedHourly.reported),
                func.sum(ReportedHourly.computed),
                func.sum(ReportedHourly.cost_cache_write_5m),
            )
        ).one()
    assert tuple(rolled) == tuple(events)
    assert reported_events[0] == len(demo_records(NOW, days=2)[::3])
    assert tuple(reported_rolled) == tuple(reported_events)
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
    reported = _snapshot(engine, "reported_hourly", REPORTED_KEY)
    prefix_hourly = _snapshot(engine, "prefix_hourly", PREFIX_HOURLY_KEY)
    # prefix_daily carries money too (0018): a re-price moves it.
    prefix_daily = _snapshot(engine, "prefix_daily", PREFIX_DAILY_KEY)
    with engine.begin() as conn:
        rebuild(conn, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    _assert_same(incremental, _snapshot(engine, "usage_hourly", HOURLY_KEY))
    _assert_same(reported, _snapshot(engine, "reported_hourly", REPORTED_KEY))
    _assert_same(prefix_hourly, _snapshot(engine, "prefix_hourly", PREFIX_HOURLY_KEY))
    _assert_same(prefix_daily, _snapshot(engine, "prefix_daily", PREFIX_DAILY_KEY))


def _reference_summary(
    engine: Engine, start: datetime, end: datetime, group_by: str
) -> dict[Any, Any]:
    """The summary computed in Python from every event row in [start, end)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(UsageEvent.__table__).where(
                UsageEvent.occurred_at >= start, UsageEvent.occurred_at < end
            )
        ).all()
        out: dict[Any, Any] = {}
        for e in rows:
            key = (
                e.occurred_at.astimezone(UTC).date().isoformat()
                if group_by == "day"
                else getattr(e, group_by)
            )
            group = out.setdefault(
                key, {"requests": 0, "hits": 0, "unpriced": 0, "read": 0, "money": {}}
            )
            group["requests"] += 1
            group["hits"] += e.cache_read_tokens > 0
            group["unpriced"] += e.cost is None
            group["read"] += e.cache_read_tokens
            if e.cost is not None:
                cost, savings = group["money"].get(e.currency, (Decimal(0), Decimal(0)))
                group["money"][e.currency] = (cost + e.cost, savings + e.savings)
    return out


@pytest.mark.parametrize("group_by", ["model", "app", "day"])
def test_summary_from_rollups_equals_the_events(
    client: TestClient, engine: Engine, auth: dict[str, str], group_by: str
) -> None:
    from reports.totals import grouped
    from store.queries import summary_rows

    _load_demo(client, auth)
    with engine.connect() as conn:
        tenant_id = conn.execute(select(UsageEvent.tenant_id).limit(1)).scalar_one()
    day = NOW.replace(hour=0) - timedelta(days=1)
    ranges = [
        (day, day + timedelta(days=2)),  # whole hours: rollups only
        (day + timedelta(hours=3, minutes=17), day + timedelta(hours=20, minutes=48)),
        (day + timedelta(hours=5, minutes=5), day + timedelta(hours=5, minutes=50)),  # one hour
        (day + timedelta(hours=5, minutes=5), day + timedelta(hours=6, minutes=40)),  # two edges
        (day + timedelta(hours=7), day + timedelta(hours=7)),  # empty
    ]
    for start, end in ranges:
        want = _reference_summary(engine, start, end, group_by)
        with engine.connect() as conn:
            got = grouped(summary_rows(conn, tenant_id, start, end, group_by))
        assert {g.key for g in got} == set(want), (start, end)
        for g in got:
            ref = want[g.key]
            counts = g.counts
            assert (
                counts["requests"],
                counts["hit_requests"],
                counts["unpriced_requests"],
                counts["cache_read_tokens"],
            ) == (
                ref["requests"],
                ref["hits"],
                ref["unpriced"],
                ref["read"],
            )
            assert {c: (m["cost"], m["savings"]) for c, m in g.money.items()} == ref["money"]
    # The partial hours at both ends hold events, so reading them matters to the result.
    for lo, hi in (
        (ranges[1][0], day + timedelta(hours=4)),
        (day + timedelta(hours=20), ranges[1][1]),
    ):
        assert _reference_summary(engine, lo, hi, group_by)


def test_reconciliation_sums_from_rollups_equal_the_events(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    from store.reconcile import reported_groups

    _load_demo(client, auth)
    with engine.connect() as conn:
        tenant_id = conn.execute(select(UsageEvent.tenant_id).limit(1)).scalar_one()
    day = NOW.replace(hour=0) - timedelta(days=1)
    for start, end in (
        (day, day + timedelta(days=2)),
        (day + timedelta(hours=3, minutes=17), day + timedelta(hours=20, minutes=48)),
        (day + timedelta(hours=5, minutes=5), day + timedelta(hours=5, minutes=50)),
    ):
        want: dict[tuple[str, str | None], list[Any]] = {}
        with engine.connect() as conn:
            for e in conn.execute(
                select(UsageEvent.__table__).where(
                    UsageEvent.occurred_at >= start,
                    UsageEvent.occurred_at < end,
                    UsageEvent.reported_cost.is_not(None),
                )
            ):
                sums = want.setdefault(
                    (e.provider, e.model), [0, 0, Decimal(0), Decimal(0), 0, Decimal(0)]
                )
                sums[0] += 1
                sums[1] += e.cost is None
                sums[2] += e.reported_cost
                sums[3] += e.cost or 0
                sums[4] += e.cache_read_tokens
                sums[5] += e.cost_cache_read or 0
            got = reported_groups(conn, tenant_id, start, end)
        assert want, (start, end)
        assert {
            (g.provider, g.model): [
                g.events,
                g.unpriced,
                g.reported,
                g.computed,
                g.cache_read_tokens,
                g.cost_cache_read,
            ]
            for g in got
        } == want, (start, end)
