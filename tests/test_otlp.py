"""OTLP/HTTP receiver, exercised by the real opentelemetry-sdk exporter."""

from __future__ import annotations

import gzip
import json

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ingest.errors import PayloadError
from ingest.otlp import decode
from store.models import UsageEvent
from tests.factories import tenant_with_key
from tests.usage_fixtures import load_fixture


def _events(engine: Engine) -> dict[str, UsageEvent]:
    with Session(engine) as session:
        return {str(e.request_id): e for e in session.scalars(select(UsageEvent))}


def test_sdk_exporter_spans_land_as_records(engine: Engine, live_url: str) -> None:
    _, key = tenant_with_key(engine)
    resource = Resource.create(
        {
            "service.name": "chat-svc",
            "deployment.environment.name": "prod",
            "cachemeter.team": "core",
        }
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(
        SimpleSpanProcessor(
            OTLPSpanExporter(
                endpoint=f"{live_url}/v1/traces",
                headers={"Authorization": f"Bearer {key}"},
                compression=Compression.Gzip,
            )
        )
    )
    tracer = provider.get_tracer("cachemeter-test")
    fixture = load_fixture("otel-genai-span-attributes")
    with tracer.start_as_current_span("chat claude-sonnet-4-5") as span:
        span.set_attributes(fixture["payload"])
    with tracer.start_as_current_span("SELECT users"):
        pass  # not a GenAI span: ignored
    with tracer.start_as_current_span("ai.generateText") as span:
        span.set_attributes(
            {
                "ai.model.provider": "openai.chat",
                "ai.model.id": "gpt-5.1",
                "ai.usage.promptTokens": 3000,
                "ai.usage.completionTokens": 50,
                "ai.usage.cachedInputTokens": 2048,
            }
        )
    provider.shutdown()
    events = _events(engine)
    assert len(events) == 2
    otel = events["msg_otel_1"]
    expected = fixture["expected"]
    assert (
        otel.input_tokens,
        otel.cache_read_tokens,
        otel.cache_write_tokens,
        otel.output_tokens,
    ) == (
        expected["input_tokens"],
        expected["cache_read_tokens"],
        expected["cache_write_tokens"],
        expected["output_tokens"],
    )
    assert (otel.provider, otel.reported_model, otel.model, otel.source) == (
        "anthropic",
        "claude-sonnet-4-5-20250929",
        "claude-sonnet-4-5",  # the canonical name reports group by
        "otlp",
    )
    assert (otel.app, otel.team, otel.environment) == ("chat-svc", "core", "prod")
    assert otel.ttft_ms == 420.0  # time_to_first_chunk 0.42 s
    assert otel.latency_ms is not None and otel.latency_ms >= 0
    assert otel.cost is not None  # Claude Sonnet 4.5 is priced from genai-prices
    vercel = next(e for e in events.values() if e.provider == "openai")
    assert (vercel.input_tokens, vercel.cache_read_tokens, vercel.output_tokens, vercel.model) == (
        3000,
        2048,
        50,
        "gpt-5.1",
    )


def test_otlp_json_gzip_and_errors(engine: Engine, live_url: str) -> None:
    _, key = tenant_with_key(engine)
    auth = {"Authorization": f"Bearer {key}"}
    export = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "rag"}}]
                },
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "spanId": "0102030405060708",
                                "startTimeUnixNano": "1795000000000000000",
                                "endTimeUnixNano": "1795000001500000000",
                                "attributes": [
                                    {"key": "gen_ai.system", "value": {"stringValue": "openai"}},
                                    {
                                        "key": "gen_ai.request.model",
                                        "value": {"stringValue": "gpt-5.1"},
                                    },
                                    {
                                        "key": "gen_ai.usage.input_tokens",
                                        "value": {"intValue": "4000"},
                                    },
                                    {
                                        "key": "gen_ai.usage.input_tokens.cached",
                                        "value": {"intValue": "3072"},
                                    },
                                    {
                                        "key": "gen_ai.usage.output_tokens",
                                        "value": {"intValue": "20"},
                                    },
                                ],
                            },
                            {
                                "spanId": "0a0b",
                                "attributes": [
                                    {
                                        "key": "gen_ai.usage.input_tokens",
                                        "value": {"intValue": "-5"},
                                    }
                                ],
                            },
                        ]
                    }
                ],
            }
        ]
    }
    response = httpx.post(
        f"{live_url}/v1/traces",
        content=gzip.compress(json.dumps(export).encode()),
        headers={**auth, "Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 200
    assert response.json()["partialSuccess"]["rejectedSpans"] == "1"
    assert "negative" in response.json()["partialSuccess"]["errorMessage"]
    event = _events(engine)["0102030405060708"]
    assert (event.app, event.input_tokens, event.cache_read_tokens, event.latency_ms) == (
        "rag",
        4000,
        3072,
        1500.0,
    )
    bad = httpx.post(
        f"{live_url}/v1/traces",
        content=b"\x00garbage",
        headers={**auth, "Content-Type": "application/x-protobuf"},
    )
    assert bad.status_code == 400 and "protobuf" in bad.text
    assert (
        httpx.post(
            f"{live_url}/v1/traces", content=b"{}", headers={"Content-Type": "application/json"}
        ).status_code
        == 401
    )


def test_the_media_type_is_read_case_insensitively_and_exactly() -> None:
    # RFC 9110: media types are case-insensitive, parameters follow a ";".
    for content_type in ("Application/JSON; charset=utf-8", "APPLICATION/JSON", "application/json"):
        assert decode(b"{}", content_type, None) == []
    assert decode(b"", "Application/X-Protobuf", None) == []
    for content_type in ("application/jsonx", "text/plain", ""):
        with pytest.raises(PayloadError, match="Content-Type"):
            decode(b"{}", content_type, None)
