"""The demo traffic shows what it promises, read through the real normalisers."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from statistics import mean
from typing import Any

from cachemeter.cli.demo import demo_records
from ingest.detect import normalise_payload

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


def _hit_rate(record: dict[str, object]) -> float:
    payload = record.get("usage") or record.get("response")
    usage = normalise_payload(payload, str(record.get("provider") or "") or None).usage
    return usage.cache_read_tokens / usage.input_tokens


def test_several_providers_apps_and_teams() -> None:
    records = demo_records(NOW, days=3)
    providers = {
        normalise_payload(r.get("usage") or r.get("response"), r.get("provider")).provider
        for r in records
    }
    assert {"anthropic", "openai", "google", "deepseek"} <= providers
    assert len({r["app"] for r in records}) >= 4 and len({r["team"] for r in records}) >= 3
    assert all(datetime.fromisoformat(r["occurred_at"]) < NOW for r in records)


def test_multi_turn_chats_hit_rate_climbs() -> None:
    by_turn: dict[int, list[float]] = defaultdict(list)
    for record in demo_records(NOW, days=3):
        if record["app"] == "support-bot":
            turn = int(str(record["request_id"]).rsplit("-", 1)[1])
            by_turn[turn].append(_hit_rate(record))
    means = [mean(by_turn[t]) for t in range(4)]
    assert means[0] == 0  # the first turn writes the prefix
    assert means == sorted(means) and means[3] > 0.9


def test_code_review_hit_rate_collapses_after_prompt_change() -> None:
    before: list[float] = []
    after: list[float] = []
    for record in demo_records(NOW, days=3):
        if record["app"] == "code-review":
            (before if record["prefix_hash"] == "review-v1" else after).append(_hit_rate(record))
    assert before and after
    assert mean(before) > 0.4 and mean(after) < 0.1


def test_reloading_later_regenerates_overlapping_slots_identically() -> None:
    # Three hours later, the shared 45 hours must be the same requests, so a reload dedupes.
    later_start = NOW.replace(hour=18, minute=0) - timedelta(days=2)
    earlier = {r["request_id"]: r for r in demo_records(NOW, days=2) if r["app"] != "code-review"}
    later = {
        r["request_id"]: r
        for r in demo_records(NOW.replace(hour=18), days=2)
        if r["app"] != "code-review"
    }
    shared = [
        rid
        for rid, r in earlier.items()
        if datetime.fromisoformat(str(r["occurred_at"])) >= later_start + timedelta(hours=1)
    ]
    assert len(shared) > 0.9 * len(earlier)
    assert all(later.get(rid) == earlier[rid] for rid in shared)


def test_demo_makes_every_dashboard_view_meaningful(engine: Any) -> None:
    from prometheus_client import CollectorRegistry
    from sqlalchemy import text

    from cachemeter.cli.demo import load_demo
    from ingest.metrics import IngestMetrics
    from ingest.service import Ingestor

    totals = load_demo(
        Ingestor(engine, IngestMetrics(CollectorRegistry())),
        engine,
        tenant_name="demo",
        days=3,
        now=NOW,
    )
    assert totals["rejected"] == 0
    with engine.connect() as conn:
        misses = conn.execute(
            text(
                "SELECT sum(miss_below_minimum), sum(miss_first_write), sum(miss_prefix_changed),"
                " sum(miss_ttl_expired), sum(cache_write_1h_tokens), count(DISTINCT provider)"
                " FROM usage_hourly"
            )
        ).one()
        storage = conn.execute(text("SELECT count(*), sum(cost_storage) FROM cache_objects")).one()
        ttft = conn.execute(text("SELECT count(DISTINCT cache_hit) FROM ttft_daily")).scalar_one()
    below, first_write, changed, expired, one_hour, providers = misses
    assert below > 0 and first_write > 0 and changed > 0 and expired > 0
    assert one_hour > 0 and providers >= 4
    # Gemini 2.5 Flash storage: 50,000 tokens x 6 h x $1.00/MTok-h = $0.30 a day.
    assert storage[0] == 3 and storage[1] == Decimal("0.9")
    assert ttft == 2  # cached and uncached latencies both present


def test_demo_prefix_regression_is_detected(engine: Any) -> None:
    from prometheus_client import CollectorRegistry
    from sqlalchemy import text

    from cachemeter.cli.demo import load_demo
    from ingest.metrics import IngestMetrics
    from ingest.service import Ingestor

    load_demo(
        Ingestor(engine, IngestMetrics(CollectorRegistry())),
        engine,
        tenant_name="demo",
        days=3,
        now=NOW,
    )
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT app, cause, opened_at FROM regressions WHERE kind = 'hit_rate'"
                " AND scope = 'app_model'"
            )
        ).all()
    change = NOW.replace(minute=0, hour=0) - timedelta(
        days=1
    )  # midnight UTC of the day before the last
    review = [r for r in rows if r.app == "code-review"]
    assert len(review) == 1 and review[0].cause == "prefix_changed"
    assert change < review[0].opened_at <= change + timedelta(hours=2)  # within the replay's window
    assert {r.app for r in rows} == {"code-review"}  # no other app regresses in the demo
