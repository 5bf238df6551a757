"""/metrics: exact counter values after known records, unchanged by a duplicate batch."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from cachemeter.config import Settings
from cachemeter.server import create_app
from ingest.metrics import LabelBounds
from tests.factories import anthropic_record, tenant_with_key

DIMS = {
    "provider": "anthropic",
    "model": "claude-sonnet-4-5",
    "app": "search",
    "team": "core",
    "environment": "none",
}


def _samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def _value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _batch() -> dict[str, Any]:
    return {
        "records": [
            anthropic_record(
                request_id="hit",
                plain=100,
                read=2048,
                output=7,
                app="search",
                team="core",
                ttft_ms=250,
            ),
            anthropic_record(
                request_id="write",
                plain=50,
                write=1200,
                output=3,
                app="search",
                team="core",
                ttft_ms=900,
            ),
            {
                "request_id": "unpriced",
                "provider": "stepfun",
                "model": "step-9",
                "occurred_at": "2026-11-20T10:00:00Z",
                "usage": {"prompt_tokens": 591, "completion_tokens": 1},
            },
        ]
    }


def test_exact_counters_and_no_double_count(client: TestClient, auth: dict[str, str]) -> None:
    assert client.post("/v1/usage", json=_batch(), headers=auth).json()["accepted"] == 3
    first = _samples(client)
    assert _value(first, "cachemeter_requests_total", **DIMS, cache_hit="true") == 1
    assert _value(first, "cachemeter_requests_total", **DIMS, cache_hit="false") == 1
    assert _value(first, "cachemeter_input_tokens_total", **DIMS, kind="uncached") == 150
    assert _value(first, "cachemeter_input_tokens_total", **DIMS, kind="cache_read") == 2048
    assert _value(first, "cachemeter_input_tokens_total", **DIMS, kind="cache_write_5m") == 1200
    assert _value(first, "cachemeter_output_tokens_total", **DIMS) == 10
    # Claude Sonnet 4.5 ($3 in, $0.30 read, $3.75 5m write, $15 out per MTok):
    # hit: 100x3 + 2048x0.3 + 7x15 = 1019.4; write: 50x3 + 1200x3.75 + 3x15 = 4695 -> $0.0057144
    assert _value(first, "cachemeter_cost_total", **DIMS, currency="USD") == pytest.approx(
        0.0057144
    )
    # no cache: (2148 + 1250) x 3 + 10 x 15 = 10344 -> $0.010344
    assert _value(first, "cachemeter_nocache_cost_total", **DIMS, currency="USD") == pytest.approx(
        0.010344
    )
    assert (
        _value(
            first, "cachemeter_unpriced_events_total", provider="stepfun", reason="unknown_model"
        )
        == 1
    )
    assert (
        _value(
            first,
            "cachemeter_cache_misses_total",
            provider="anthropic",
            app="search",
            cause="first_write",
        )
        == 1
    )
    assert (
        _value(
            first, "cachemeter_cache_misses_total", provider="stepfun", app="none", cause="unknown"
        )
        == 1
    )
    hit = {"provider": "anthropic", "model": "claude-sonnet-4-5", "cache_hit": "true"}
    assert _value(first, "cachemeter_ttft_seconds_count", **hit) == 1
    assert _value(first, "cachemeter_ttft_seconds_sum", **hit) == pytest.approx(0.25)
    assert _value(first, "cachemeter_ttft_seconds_bucket", **hit, le="0.2") == 0
    assert _value(first, "cachemeter_ttft_seconds_bucket", **hit, le="0.3") == 1
    assert _value(first, "cachemeter_ingest_records_total", result="accepted") == 3

    assert client.post("/v1/usage", json=_batch(), headers=auth).json()["duplicates"] == 3
    second = _samples(client)
    assert _value(second, "cachemeter_ingest_records_total", result="duplicate") == 3
    for key, value in first.items():
        name = key[0]
        if name.startswith(
            (
                "cachemeter_requests",
                "cachemeter_input_tokens",
                "cachemeter_cost",
                "cachemeter_nocache_cost",
                "cachemeter_ttft",
                "cachemeter_cache_misses",
            )
        ):
            assert second[key] == value, key
    # HTTP metrics use the route template.
    assert (
        _value(
            second, "cachemeter_http_requests_total", method="POST", route="/v1/usage", status="200"
        )
        == 2
    )
    assert _value(second, "cachemeter_price_catalogue_age_seconds") > 0


def test_labels_fold_into_other(engine: Engine) -> None:
    settings = Settings(secret_key="x", metrics_label_cap=2, metrics_allow={"team": ["core"]})
    app = create_app(settings, engine=engine, registry=CollectorRegistry())
    _, key = tenant_with_key(engine)
    with TestClient(app) as client:
        records = [
            anthropic_record(request_id=f"r{i}", app=f"app-{i}", team=("core" if i == 0 else "x"))
            for i in range(4)
        ]
        client.post(
            "/v1/usage", json={"records": records}, headers={"Authorization": f"Bearer {key}"}
        )
        samples = _samples(client)
    apps = {dict(labels)["app"] for name, labels in samples if name == "cachemeter_requests_total"}
    teams = {
        dict(labels)["team"] for name, labels in samples if name == "cachemeter_requests_total"
    }
    assert apps == {"app-0", "app-1", "other"}  # a cap of 2 values, then "other"
    assert teams == {"core", "other"}  # the allow-list wins over the cap


def test_label_bounds_unit() -> None:
    bounds = LabelBounds(cap=1)
    assert [bounds.value("app", v) for v in ("a", "b", "a", None)] == ["a", "other", "a", "none"]


def test_counters_alert_rules_watch_start_at_zero_after_a_restart(engine: Engine) -> None:
    _, key = tenant_with_key(engine)
    settings = Settings(secret_key="s", regression_interval_seconds=0)
    first = create_app(settings, engine=engine, registry=CollectorRegistry())
    with TestClient(first) as client:
        record = anthropic_record(request_id="r1")
        client.post("/v1/usage", json=record, headers={"Authorization": f"Bearer {key}"})
    # A new process (a restart): nothing unpriced yet, but the series exist at 0, so the
    # first unpriced event is an increase Prometheus can see (tests/promtool/alerts_test.yml).
    restarted = create_app(settings, engine=engine, registry=CollectorRegistry())
    with TestClient(restarted) as client:
        samples = _samples(client)
    for reason in ("no_model", "unknown_model", "unknown_term", "unknown_fee"):
        labels = {"provider": "anthropic", "reason": reason}
        assert samples[("cachemeter_unpriced_events_total", frozenset(labels.items()))] == 0
    for result in ("accepted", "duplicate", "rejected", "conflict"):
        key_ = ("cachemeter_ingest_records_total", frozenset({"result": result}.items()))
        assert samples[key_] == 0


def test_unpriced_reasons_are_bounded_classes() -> None:
    from ingest.metrics import unpriced_reason

    assert unpriced_reason("no model reported: send `model` with the record") == "no_model"
    assert unpriced_reason("genai-prices 0.2.3 has no model 'x' for provider 'y'") == (
        "unknown_model"
    )
    assert unpriced_reason("service tier 'priority' of openai: its rates …") == "unknown_term"
    assert unpriced_reason("speed for claude-opus-5-5 'fast' of anthropic: …") == "unknown_term"
    assert unpriced_reason("fees of x-ai for web_search are not known, …") == "unknown_fee"
