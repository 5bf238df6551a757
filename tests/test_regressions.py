"""Regression detection on synthetic streams: opens soon after a prefix change with the right
cause, stays quiet on a long stable stream with normal noise, closes on recovery."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from cache.regressions import DetectorConfig, Window, hit_rate_regressed, likely_cause, z_score
from cachemeter.workers.regressions import Event, check_regressions
from ingest.metrics import IngestMetrics
from ingest.service import Ingestor
from store.tenants import ensure_tenant

T0 = datetime(2026, 11, 10, tzinfo=UTC)
CONFIG = DetectorConfig()


def _stream(
    app: str, minutes: int, shape: Callable[[int, random.Random], dict[str, Any]], seed: int
) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    records = []
    for minute in range(minutes):
        at = T0 + timedelta(minutes=minute, seconds=rng.randint(0, 50))
        usage = shape(minute, rng)
        records.append(
            {
                "provider": "anthropic",
                "model": "claude-sonnet-4-5",
                "app": app,
                "request_id": f"{app}-{minute}",
                "occurred_at": at.isoformat(),
                "prompt_cache_key": f"{app}-system",
                **usage,
            }
        )
    return records


def _steady(
    minute: int, rng: random.Random, hit_p: float = 0.85, prefix: str = "v1", ttft: float = 200
) -> dict[str, Any]:
    hit = rng.random() < hit_p
    return {
        "prefix_hash": prefix,
        "ttft_ms": ttft + rng.gauss(0, 20),
        "usage": {
            "input_tokens": 100,
            "output_tokens": 50,
            "cache_read_input_tokens": 4000 if hit else 0,
            "cache_creation_input_tokens": 0 if hit else 4000,
        },
    }


def _ingest(engine: Engine, records: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        tenant = ensure_tenant(conn, "acme")
    ingestor = Ingestor(engine, IngestMetrics(CollectorRegistry()))
    records.sort(key=lambda r: r["occurred_at"])
    for i in range(0, len(records), 1000):
        result = ingestor.ingest(
            tenant, records[i : i + 1000], source="push", received_at=T0 + timedelta(days=3)
        )
        assert not result.rejected


def _run(
    engine: Engine, start: timedelta, end: timedelta, every: timedelta = timedelta(minutes=10)
) -> list[tuple[datetime, Event]]:
    out: list[tuple[datetime, Event]] = []
    now = T0 + start
    while now <= T0 + end:
        out.extend((now, event) for event in check_regressions(engine, now, CONFIG))
        now += every
    return out


CHANGE = timedelta(hours=36)
RECOVER = timedelta(hours=40)


def _broken(minute: int, rng: random.Random) -> dict[str, Any]:
    at = timedelta(minutes=minute)
    if CHANGE <= at < RECOVER:
        # A timestamp now heads the system prompt: every request has a new prefix and misses.
        return _steady(minute, rng, hit_p=0.0, prefix=f"v2-{minute}")
    return _steady(minute, rng, prefix="v3" if at >= RECOVER else "v1")


def test_prefix_change_opens_once_with_cause_and_closes_stable_stays_quiet(engine: Engine) -> None:
    minutes = 48 * 60
    _ingest(
        engine,
        _stream("stable", minutes, _steady, seed=1) + _stream("broken", minutes, _broken, seed=2),
    )
    events = _run(engine, timedelta(hours=25), timedelta(hours=47, minutes=50))
    checks = len(range(0, int((timedelta(hours=22, minutes=50)) / timedelta(minutes=10)) + 1))
    assert checks == 138
    stable = [e for _, e in events if e[1]["app"] == "stable"]
    assert stable == []  # no false positive in 138 checks over 23 hours of noisy traffic
    opened = [
        (t, e[1])
        for t, e in events
        if e[0] == "opened" and e[1]["scope"] == "app_model" and e[1]["kind"] == "hit_rate"
    ]
    assert len(opened) == 1
    at, regression = opened[0]
    assert T0 + CHANGE < at <= T0 + CHANGE + timedelta(minutes=CONFIG.window_minutes + 10)
    assert regression["cause"] == "prefix_changed"
    # Opened while the 30-minute window still held some pre-change hits: the drop already passed
    # the 0.2 threshold with a z score far beyond 3.5.
    assert (
        regression["baseline"] > 0.8
        and regression["recent"] <= regression["baseline"] - CONFIG.min_drop
    )
    closed = [
        t
        for t, e in events
        if e[0] == "closed" and e[1]["scope"] == "app_model" and e[1]["kind"] == "hit_rate"
    ]
    assert len(closed) == 1 and T0 + RECOVER < closed[0] <= T0 + RECOVER + timedelta(hours=1)
    # The cache-key scope sees the same regression for the key "broken-system".
    keyed = [e[1] for _, e in events if e[0] == "opened" and e[1]["scope"] == "cache_key"]
    assert [e["cache_key"] for e in keyed] == ["broken-system"]


def test_cached_ttft_regression(engine: Engine) -> None:
    def slower(minute: int, rng: random.Random) -> dict[str, Any]:
        return _steady(minute, rng, ttft=600 if minute >= 30 * 60 else 200)

    _ingest(engine, _stream("slow", 32 * 60, slower, seed=3))
    events = _run(engine, timedelta(hours=29), timedelta(hours=31, minutes=50))
    ttft = [
        e[1]
        for _, e in events
        if e[0] == "opened" and e[1]["kind"] == "ttft" and e[1]["scope"] == "app_model"
    ]
    assert len(ttft) == 1 and ttft[0]["recent"] > ttft[0]["baseline"] * 1.5
    assert not [e for _, e in events if e[1]["kind"] == "hit_rate"]


def test_provider_wide_drop_without_a_client_side_cause(engine: Engine) -> None:
    def evicted(minute: int, rng: random.Random) -> dict[str, Any]:
        shape = _steady(minute, rng, hit_p=0.1 if minute >= 30 * 60 else 0.85)
        if shape["usage"]["cache_read_input_tokens"] == 0:
            # Evicted: the same 4,100-token prompt is sent, nothing is written or read.
            shape["usage"].update(input_tokens=4100, cache_creation_input_tokens=0)
        return shape

    _ingest(engine, _stream("a", 31 * 60, evicted, seed=4) + _stream("b", 31 * 60, evicted, seed=5))
    events = _run(engine, timedelta(hours=30, minutes=40), timedelta(hours=30, minutes=50))
    causes = {e[1]["cause"] for _, e in events if e[0] == "opened" and e[1]["scope"] == "app_model"}
    assert causes == {"provider_eviction"}


def test_detector_rules() -> None:
    base = Window(requests=1000, hits=850)
    assert hit_rate_regressed(base, Window(requests=40, hits=10), CONFIG)
    # A large drop on too little traffic is not credible.
    assert not hit_rate_regressed(base, Window(requests=10, hits=0), CONFIG)
    # A credible but small drop is not a regression.
    assert not hit_rate_regressed(base, Window(requests=5000, hits=4000), CONFIG)
    # pooled p = 860/1040 = 0.826923; se = sqrt(0.826923 x 0.173077 x (1/1000 + 1/40)) = 0.061001;
    # z = (0.85 - 0.25) / 0.061001 = 9.836
    assert z_score(base, Window(requests=40, hits=10)) == pytest.approx(9.836, abs=0.001)
    recent = Window(requests=40, hits=10, causes={"below_minimum_length": 25})
    assert likely_cause(base, recent, provider_wide=True) == "below_minimum_length"


def test_api_lists_the_tenants_regressions(
    client: Any, engine: Engine, auth: dict[str, str]
) -> None:
    minutes = 40 * 60
    _ingest(engine, _stream("broken", minutes, _broken, seed=2))
    _run(engine, timedelta(hours=36, minutes=20), timedelta(hours=36, minutes=40))
    body = client.get("/v1/regressions?start=2026-11-10&end=2026-11-13", headers=auth).json()
    assert [
        (r["app"], r["cause"], r["closed_at"])
        for r in body["regressions"]
        if r["scope"] == "app_model"
    ] == [("broken", "prefix_changed", None)]
    assert (
        client.get(
            "/v1/regressions?status=closed&start=2026-11-10&end=2026-11-13", headers=auth
        ).json()["regressions"]
        == []
    )


def test_cli_check_and_list(cli_db: str, engine: Engine, capsys: Any) -> None:
    import json

    from cachemeter.cli.main import main

    _ingest(engine, _stream("broken", 37 * 60, _broken, seed=2))
    assert (
        main(["regressions", "check", "--at", (T0 + timedelta(hours=36, minutes=30)).isoformat()])
        == 0
    )
    events = json.loads(capsys.readouterr().out)
    assert {(e["action"], e["app"], e["cause"]) for e in events} == {
        ("opened", "broken", "prefix_changed")
    }
    assert main(["regressions", "list", "--tenant", "acme", "--days", "400"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2  # the app/model and the cache-key scope


def test_server_monitor_sets_the_gauge_from_open_regressions(engine: Engine) -> None:
    import time

    from fastapi.testclient import TestClient
    from prometheus_client import CollectorRegistry

    from cachemeter.config import Settings
    from cachemeter.server import create_app
    from store.regressions import open_regression

    with engine.begin() as conn:
        tenant = ensure_tenant(conn, "acme")
        open_regression(
            conn,
            {
                "tenant_id": tenant.id,
                "kind": "hit_rate",
                "scope": "app_model",
                "app": "review",
                "provider": "openai",
                "model": "gpt-5.1",
                "cache_key": "",
                "opened_at": T0,
                "baseline": 0.9,
                "recent": 0.1,
                "cause": "prefix_changed",
                "details": {},
            },
        )
    settings = Settings(secret_key="x", regression_interval_seconds=0.2)
    app = create_app(settings, engine=engine, registry=CollectorRegistry())
    line = 'cachemeter_regression_open{app="review",kind="hit_rate",model="gpt-5.1"} 1.0'
    with TestClient(app) as client:
        deadline = time.monotonic() + 10
        while line not in client.get("/metrics").text:
            assert time.monotonic() < deadline, "the monitor never set the gauge"
            time.sleep(0.1)


def test_a_tenant_pass_runs_in_one_process_at_a_time(engine: Engine) -> None:
    from sqlalchemy import text

    from store.regressions import REGRESSION_LOCK

    _ingest(engine, _stream("busy", 37 * 60, _broken, seed=5))
    now = T0 + CHANGE + timedelta(minutes=40)
    with engine.connect() as other:  # another pod, mid-pass on this tenant
        tenant_id = other.execute(text("SELECT id FROM tenants")).scalar_one()
        other.execute(
            text("SELECT pg_advisory_lock(:ns, :t)"), {"ns": REGRESSION_LOCK, "t": tenant_id}
        )
        assert check_regressions(engine, now, CONFIG) == []
        other.execute(
            text("SELECT pg_advisory_unlock(:ns, :t)"), {"ns": REGRESSION_LOCK, "t": tenant_id}
        )
        other.commit()
    opened = [e for e in check_regressions(engine, now, CONFIG) if e[0] == "opened"]
    assert opened
