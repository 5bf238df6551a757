"""Rejections are visible: every refused record or span is counted by source and reason class in
/metrics, logged once per class (then at most a summary a minute), kept per tenant in
ingest_rejections and listed by GET /v1/ingest/rejections, without ever failing the batch."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, create_engine, func, select

from ingest.metrics import IngestMetrics
from ingest.rejection_log import RateLimiter
from ingest.rejection_reasons import field_class, payload_reason, validation_reason
from ingest.service import Ingestor
from store.models import IngestRejection, UsageEvent
from store.rejections import RejectionGroup, record_rejections
from store.retention import apply_retention
from store.tenancy import tenant_transaction
from tests.factories import anthropic_record, tenant_with_key

# OpenAI's prompt_tokens includes the cached ones: 200 cached of 100 cannot be.
CACHED_BEYOND_INPUT = {
    "request_id": "bad-1",
    "provider": "openai",
    "model": "gpt-4o",
    "occurred_at": "2026-11-20T10:00:00Z",
    "usage": {
        "prompt_tokens": 100,
        "completion_tokens": 5,
        "prompt_tokens_details": {"cached_tokens": 200},
    },
}
CACHED_ERROR = "usage.prompt_tokens: cache read (200) + cache write (0) exceed total input (100)"
CACHED_REASON = "usage.prompt_tokens:cache_exceeds_input"
WIDE = "start=2000-01-01&end=2100-01-01"


def _metric(client: TestClient, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def _rejections(client: TestClient, auth: dict[str, str], query: str = WIDE) -> Any:
    response = client.get(f"/v1/ingest/rejections?{query}", headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


def test_one_bad_record_of_a_batch_is_counted_listed_and_the_good_one_stored(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    batch = {"records": [anthropic_record(request_id="good"), CACHED_BEYOND_INPUT]}
    answer = client.post("/v1/usage", json=batch, headers=auth)
    assert answer.status_code == 200
    assert answer.json()["accepted"] == 1
    assert answer.json()["rejected"] == [{"index": 1, "error": CACHED_ERROR}]
    with engine.connect() as conn:
        assert conn.execute(select(UsageEvent.request_id)).scalars().all() == ["good"]

    labels = {"source": "push", "reason": CACHED_REASON}
    assert _metric(client, "cachemeter_ingest_rejections_total", **labels) == 1
    body = _rejections(client, auth)
    (line,) = body["rejections"]
    assert {k: line[k] for k in ("source", "reason", "count", "sample_field", "sample_error")} == {
        "source": "push",
        "reason": CACHED_REASON,
        "count": 1,
        "sample_field": "usage.prompt_tokens",
        "sample_error": CACHED_ERROR,
    }
    assert line["first_seen"] == line["last_seen"]
    assert body["by_source"] == [
        {"source": "push", "rejected": 1, "reasons": 1, "last_seen": line["last_seen"]}
    ]

    # The same mistake again is the same class: counted on, not a row of its own; another
    # mistake is a class of its own.
    other = anthropic_record(request_id="neg", output=-1)
    client.post("/v1/usage", json={"records": [CACHED_BEYOND_INPUT, other]}, headers=auth)
    assert _metric(client, "cachemeter_ingest_rejections_total", **labels) == 2
    assert (
        _metric(
            client,
            "cachemeter_ingest_rejections_total",
            source="push",
            reason="usage.output_tokens:negative",
        )
        == 1
    )
    body = _rejections(client, auth)
    counts = {r["reason"]: r["count"] for r in body["rejections"]}
    assert counts == {CACHED_REASON: 2, "usage.output_tokens:negative": 1}
    assert body["by_source"][0]["rejected"] == 3 and body["by_source"][0]["reasons"] == 2
    # The range is when a class was seen; a range before today lists none.
    assert _rejections(client, auth, "start=2020-01-01&end=2020-02-01")["rejections"] == []
    assert _rejections(client, auth, f"{WIDE}&source=otlp")["rejections"] == []


def _span(span_id: bytes, **attributes: Any) -> Any:
    from opentelemetry.proto.trace.v1.trace_pb2 import Span

    def value(v: Any) -> AnyValue:
        return AnyValue(int_value=v) if isinstance(v, int) else AnyValue(string_value=v)

    return Span(
        span_id=span_id,
        name="chat",
        start_time_unix_nano=int(datetime(2026, 11, 20, 10, tzinfo=UTC).timestamp() * 1e9),
        attributes=[KeyValue(key=k, value=value(v)) for k, v in attributes.items()],
    )


def test_an_invalid_genai_span_is_counted_and_listed_as_otlp(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    export = ExportTraceServiceRequest()
    spans = export.resource_spans.add().scope_spans.add().spans
    genai = {"gen_ai.system": "openai", "gen_ai.request.model": "gpt-5.1"}
    spans.append(_span(b"\x01" * 8, **genai, **{"gen_ai.usage.input_tokens": 4000}))
    spans.append(
        _span(
            b"\x02" * 8,
            **genai,
            **{"gen_ai.usage.input_tokens": 100, "gen_ai.usage.cache_read.input_tokens": 500},
        )
    )
    answer = client.post(
        "/v1/traces",
        content=export.SerializeToString(),
        headers={**auth, "Content-Type": "application/x-protobuf"},
    )
    assert answer.status_code == 200
    partial = ExportTraceServiceResponse.FromString(answer.content).partial_success
    assert partial.rejected_spans == 1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(UsageEvent)).scalar_one() == 1

    reason = "usage.attributes:cache_exceeds_input"
    assert _metric(client, "cachemeter_ingest_rejections_total", source="otlp", reason=reason) == 1
    (line,) = _rejections(client, auth, f"{WIDE}&source=otlp")["rejections"]
    assert (line["source"], line["reason"], line["count"]) == ("otlp", reason, 1)
    assert line["sample_error"] == partial.error_message
    assert _rejections(client, auth, f"{WIDE}&source=push")["rejections"] == []


def test_a_flood_of_one_mistake_is_logged_a_bounded_number_of_times(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    tenant, _ = tenant_with_key(engine)
    registry = CollectorRegistry()
    ingestor = Ingestor(engine, IngestMetrics(registry))
    clock = [1000.0]
    ingestor.rejections.log.limiter = RateLimiter(clock=lambda: clock[0])
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    caplog.set_level(logging.WARNING, logger="cachemeter.ingest.rejections")
    # 1,000 requests of one bad record each, as a sender stuck on a bug sends them.
    for _ in range(1000):
        clock[0] += 0.01  # ten seconds in all: inside one minute
        result = ingestor.ingest(tenant, [CACHED_BEYOND_INPUT], source="push", received_at=now)
        assert len(result.rejected) == 1
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1
    assert CACHED_REASON in lines[0] and "tenant acme" in lines[0] and CACHED_ERROR in lines[0]
    # A minute on, one summary says how many were suppressed; then quiet again.
    clock[0] += 60
    for _ in range(3):
        ingestor.ingest(tenant, [CACHED_BEYOND_INPUT], source="push", received_at=now)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert lines[1].startswith(f"ingest: 1000 more push record(s) rejected as {CACHED_REASON}")
    value = registry.get_sample_value(
        "cachemeter_ingest_rejections_total", {"source": "push", "reason": CACHED_REASON}
    )
    assert value == 1003
    with engine.connect() as conn:
        assert conn.execute(select(IngestRejection.count)).scalars().all() == [1003]


def test_tenants_see_only_their_own_rejections(client: TestClient, engine: Engine) -> None:
    _, a_key = tenant_with_key(engine, "acme")
    _, b_key = tenant_with_key(engine, "bravo")
    a, b = {"Authorization": f"Bearer {a_key}"}, {"Authorization": f"Bearer {b_key}"}
    client.post("/v1/usage", json=CACHED_BEYOND_INPUT, headers=a)
    # B's mistake names a field of B's own making: a secret A must not learn.
    secret = {**anthropic_record(request_id="b"), "bravo_secret_field": 1}
    assert client.post("/v1/usage", json=secret, headers=b).status_code == 422
    a_body, b_body = _rejections(client, a), _rejections(client, b)
    assert [r["reason"] for r in a_body["rejections"]] == [CACHED_REASON]
    assert [r["reason"] for r in b_body["rejections"]] == ["record:unknown_field"]
    assert "bravo_secret_field" in b_body["rejections"][0]["sample_error"]
    assert "bravo" not in json.dumps(a_body)
    # Under row-level security, even without a tenant filter, A's transaction sees A's row.
    with engine.connect() as conn:
        a_id = conn.execute(select(IngestRejection.tenant_id).limit(1)).scalar_one()
    with tenant_transaction(engine, a_id) as conn:
        reasons = conn.execute(select(IngestRejection.reason)).scalars().all()
    assert reasons in ([CACHED_REASON], ["record:unknown_field"])
    # The route needs the read scope.
    _, ingest_only = tenant_with_key(engine, "acme", scopes=["ingest"])
    refused = client.get(
        f"/v1/ingest/rejections?{WIDE}", headers={"Authorization": f"Bearer {ingest_only}"}
    )
    assert refused.status_code == 403


def test_failing_to_keep_rejections_never_fails_the_batch(
    client: TestClient,
    engine: Engine,
    auth: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the rejections table is gone")

    monkeypatch.setattr("ingest.rejections.record_rejections", broken)
    caplog.set_level(logging.WARNING, logger="cachemeter.ingest.rejections")
    batch = {"records": [anthropic_record(request_id="good"), CACHED_BEYOND_INPUT]}
    answer = client.post("/v1/usage", json=batch, headers=auth)
    assert answer.status_code == 200 and answer.json()["accepted"] == 1
    with engine.connect() as conn:
        assert conn.execute(select(UsageEvent.request_id)).scalars().all() == ["good"]
    labels = {"source": "push", "reason": CACHED_REASON}
    assert _metric(client, "cachemeter_ingest_rejections_total", **labels) == 1
    assert any("could not keep push rejections" in r.getMessage() for r in caplog.records)


def test_file_import_rejections_are_kept_as_source_file(
    cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cachemeter.cli.main import main

    path = tmp_path / "usage.jsonl"
    lines = [anthropic_record(request_id="a"), CACHED_BEYOND_INPUT]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert main(["ingest", "--quiet", str(path)]) == 2
    engine = create_engine(cli_db)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(IngestRejection.source, IngestRejection.reason, IngestRejection.count)
            ).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [("file", CACHED_REASON, 1)]


def test_reason_classes_are_bounded() -> None:
    # Indices and values never make a class of their own.
    assert field_class("usage.iterations[2].input_tokens") == "usage.iterations.input_tokens"
    assert field_class("response.[3]") == "response"
    assert field_class("usage.server_tool_use.we ird!") == "usage.server_tool_use.*"
    assert field_class("a.b.c.d.e.f.g.h") == "a.b.c.d.e.f"
    assert payload_reason("usage.prompt_tokens", "must not be negative, got -5") == (
        "usage.prompt_tokens:negative"
    )
    assert payload_reason("usage.prompt_tokens", "must not be negative, got -7") == (
        "usage.prompt_tokens:negative"
    )
    assert payload_reason("usage", "unrecognised usage shape (...); keys seen: a, b") == (
        "usage:unrecognised_shape"
    )
    assert payload_reason("x", "something new") == "x:invalid"
    # A sender's own field names and tag keys are not classes.
    extra = [{"type": "extra_forbidden", "loc": ("made_up",), "msg": "Extra inputs"}]
    assert validation_reason(extra) == "record:unknown_field"
    tag = [{"type": "string_too_long", "loc": ("tags", "k" * 60), "msg": "too long"}]
    assert validation_reason(tag) == "tags:too_long"
    early = [{"type": "value_error", "loc": ("occurred_at",), "msg": "must be after 2000-01-01"}]
    assert validation_reason(early) == "occurred_at:too_early"


def test_the_table_keeps_a_bounded_number_of_classes(engine: Engine) -> None:
    tenant, _ = tenant_with_key(engine)
    now = datetime(2026, 11, 20, tzinfo=UTC)
    for i in range(10):
        with tenant_transaction(engine, tenant.id) as conn:
            group = RejectionGroup(f"usage.tool_{i}:invalid", 2, f"usage.tool_{i}", "bad")
            record_rejections(conn, tenant.id, "push", [group], now, cap=3)
    with engine.connect() as conn:
        rows = dict(conn.execute(select(IngestRejection.reason, IngestRejection.count)).all())
    assert rows == {
        "usage.tool_0:invalid": 2,
        "usage.tool_1:invalid": 2,
        "usage.tool_2:invalid": 2,
        "other": 14,  # the 7 classes beyond the cap
    }


def test_retention_forgets_classes_not_seen_within_the_horizon(engine: Engine) -> None:
    tenant, _ = tenant_with_key(engine)
    now = datetime(2026, 11, 20, tzinfo=UTC)
    with tenant_transaction(engine, tenant.id) as conn:
        for reason, seen in (("old:invalid", now - timedelta(days=120)), ("new:invalid", now)):
            record_rejections(conn, tenant.id, "push", [RejectionGroup(reason, 1, "x", "e")], seen)
    dry = apply_retention(engine, now, months=1, raw_days=None, dry_run=True)
    assert dry.rejection_rows_deleted == 1
    report = apply_retention(engine, now, months=1, raw_days=None)
    assert report.rejection_rows_deleted == 1
    with engine.connect() as conn:
        assert conn.execute(select(IngestRejection.reason)).scalars().all() == ["new:invalid"]
