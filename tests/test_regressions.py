"""Regression detection on synthetic streams: opens soon after a prefix change with the right
cause, stays quiet on a long stable stream with normal noise, closes on recovery."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, text

from cache.regressions import (
    DetectorConfig,
    Window,
    chance_of_so_few_hits,
    hit_rate_regressed,
    likely_cause,
    spread,
    z_score,
)
from cachemeter.workers.regressions import Event, check_regressions
from ingest.metrics import IngestMetrics
from ingest.service import Ingestor
from store.regressions import acknowledge_regression, regressions_since
from store.tenants import ensure_tenant

T0 = datetime(2026, 11, 10, tzinfo=UTC)
CONFIG = DetectorConfig()


def _stream(
    app: str,
    minutes: int,
    shape: Callable[[int, random.Random], dict[str, Any]],
    seed: int,
    every: int = 1,
) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    records = []
    for minute in range(0, minutes, every):
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


def _hit_rate_openings(events: list[tuple[datetime, Event]]) -> list[tuple[datetime, Any]]:
    """(time, regression) of each app/model hit-rate regression opened."""
    return [
        (t, e[1])
        for t, e in events
        if e[0] == "opened" and e[1]["scope"] == "app_model" and e[1]["kind"] == "hit_rate"
    ]


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
    opened = _hit_rate_openings(events)
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
    # Ten misses in a row where 85% hit: chance gives that 0.15^10 = 5.8e-9 of the time, far
    # below the one-sided tail of z = 4.5 (3.4e-6). Nine requests are too few to judge at all.
    assert hit_rate_regressed(base, Window(requests=10, hits=0), CONFIG)
    assert not hit_rate_regressed(base, Window(requests=9, hits=0), CONFIG)
    exact = chance_of_so_few_hits(Window(10**7, 8_500_000), Window(requests=10, hits=0))
    assert exact == pytest.approx(0.15**10, rel=0.01)
    # Hours at 90% and 70% (100 requests each): dispersion (0.01) over chance (0.0016) = 6.25,
    # beyond 1 + 3 sqrt(2) = 5.24, so the spread is sqrt(0.01 - 0.0016) = 0.0917.
    assert spread([(100, 90), (100, 70)]) == pytest.approx(0.0917, abs=0.0001)
    assert spread([(100, 85), (100, 84)]) == 0.0
    # Within the baseline's own hour-to-hour spread, a drop is no evidence.
    drifting = Window(requests=1000, hits=850, spread=0.1)
    assert not hit_rate_regressed(drifting, Window(requests=40, hits=20), CONFIG)
    assert hit_rate_regressed(base, Window(requests=40, hits=20), CONFIG)
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
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 2  # the app/model and the cache-key scope
    assert main(["regressions", "acknowledge", "--tenant", "acme", str(listed[0]["id"])]) == 0
    closed = json.loads(capsys.readouterr().out)
    assert closed["closed_at"] is not None and closed["details"]["acknowledged_by"] == "cli"
    # Acknowledged already: nothing open by that id.
    assert main(["regressions", "acknowledge", "--tenant", "acme", str(listed[0]["id"])]) == 2


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


def _low_volume(
    minutes: int, change: timedelta, outage: timedelta, seed: int, app: str
) -> list[dict[str, Any]]:
    """One request every two minutes at ~88%; from `change`, for `outage`, every request has a
    new prefix and misses."""

    def shape(minute: int, rng: random.Random) -> dict[str, Any]:
        at = timedelta(minutes=minute)
        if change <= at < change + outage:
            return _steady(minute, rng, hit_p=0.0, prefix=f"v2-{minute}")
        return _steady(minute, rng, hit_p=0.88)

    return _stream(app, minutes, shape, seed, every=2)


def test_a_low_volume_collapse_opens_one_regression_within_an_hour_beside_a_quiet_app(
    engine: Engine,
) -> None:
    change = timedelta(hours=36)
    _ingest(
        engine,
        _low_volume(44 * 60, change, timedelta(hours=6), seed=3, app="slow")
        + _stream("steady", 44 * 60, lambda m, rng: _steady(m, rng, hit_p=0.88), 4, every=2),
    )
    events = _run(engine, timedelta(hours=25), timedelta(hours=43), every=timedelta(minutes=5))
    assert [e for _, e in events if e[1]["app"] == "steady"] == []
    opened = _hit_rate_openings(events)
    assert len(opened) == 1
    at, regression = opened[0]
    assert T0 + change < at <= T0 + change + timedelta(hours=1)
    assert regression["cause"] == "prefix_changed"
    # The window widened to hold enough of a request every two minutes.
    assert regression["details"]["window_minutes"] > 5


def test_an_open_regression_keeps_its_baseline_through_a_day_long_outage(engine: Engine) -> None:
    change, outage = timedelta(hours=30), timedelta(hours=26)
    _ingest(engine, _low_volume(60 * 60, change, outage, seed=5, app="down"))
    events = _run(engine, timedelta(hours=25), timedelta(hours=59), every=timedelta(minutes=15))
    hit_rate = [e for _, e in events if e[1]["kind"] == "hit_rate" and e[1]["scope"] == "app_model"]
    assert [action for action, _ in hit_rate] == ["opened", "closed"]
    closed = next(t for t, e in events if e in hit_rate and e[0] == "closed")
    # Not closed while the outage outlived the 24-hour baseline, but soon after it ended.
    assert T0 + change + outage < closed <= T0 + change + outage + timedelta(hours=1)
    with engine.connect() as conn:
        [row] = conn.execute(
            text(
                "SELECT baseline, details, opened_at, closed_at FROM regressions"
                " WHERE scope = 'app_model' AND kind = 'hit_rate'"
            )
        ).all()
    assert 0.8 < row.baseline < 0.95  # the pre-regression rate, not the outage's 0
    assert row.details["recovered_value"] > row.baseline - CONFIG.min_drop / 2
    assert row.closed_at > row.opened_at


def test_rerunning_detection_over_the_same_data_changes_nothing(engine: Engine) -> None:
    change = timedelta(hours=30)
    _ingest(engine, _low_volume(40 * 60, change, timedelta(hours=4), seed=6, app="again"))
    first = _run(engine, timedelta(hours=25), timedelta(hours=39), every=timedelta(minutes=15))
    assert any(action == "opened" for _, (action, _) in first)

    def stored() -> list[Any]:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    text("SELECT id, opened_at, closed_at FROM regressions ORDER BY id")
                ).all()
            )

    before = stored()
    # The same passes again, and passes at times inside and before the regression.
    again = _run(engine, timedelta(hours=25), timedelta(hours=39), every=timedelta(minutes=15))
    assert again == []
    assert stored() == before
    assert all(r.closed_at is None or r.closed_at >= r.opened_at for r in before)


def test_acknowledging_closes_a_regression_and_its_rate_becomes_the_baseline(
    engine: Engine, client: TestClient, auth: dict[str, str]
) -> None:
    change = timedelta(hours=30)
    _ingest(engine, _low_volume(40 * 60, change, timedelta(hours=10), seed=7, app="accepted"))
    _run(engine, timedelta(hours=25), timedelta(hours=32), every=timedelta(minutes=15))
    listed = client.get(
        "/v1/regressions?status=open&start=2026-11-10&end=2026-11-13", headers=auth
    ).json()["regressions"]
    by_scope = {r["scope"]: r for r in listed if r["kind"] == "hit_rate"}
    assert set(by_scope) == {"app_model", "cache_key"}
    response = client.post(
        f"/v1/regressions/{by_scope['app_model']['id']}/acknowledge", headers=auth
    )
    assert response.status_code == 200, response.text
    acknowledged = response.json()
    assert acknowledged["id"] == by_scope["app_model"]["id"]
    assert acknowledged["closed_at"] is not None
    assert acknowledged["details"]["acknowledged_by"].startswith("api key cm_")
    again = client.post(f"/v1/regressions/{by_scope['app_model']['id']}/acknowledge", headers=auth)
    assert again.status_code == 404
    # The cache-key regression acknowledged at 32:00 of the replay: from then on the low rate
    # is the key's normal, so no regression opens for it while the outage goes on.
    with engine.begin() as conn:
        tenant = ensure_tenant(conn, "acme")
        [open_id] = [r.id for r in regressions_since(conn, tenant.id, T0) if r.closed_at is None]
        assert acknowledge_regression(conn, tenant.id, open_id, T0 + timedelta(hours=32), "test")
    later = _run(engine, timedelta(hours=32, minutes=15), timedelta(hours=39))
    assert [e for _, e in later if e[0] == "opened"] == []
