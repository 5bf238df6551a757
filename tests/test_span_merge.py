"""Spans of one call from two instrumentors become one record with the most complete usage,
whichever came first and whether they come in one export or two; the rollups follow."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from store.models import UsageEvent
from tests.factories import anthropic_record

START = 1_795_000_000_000_000_000  # 2026-11-19T...


def _span(span_id: str, attributes: dict[str, Any], scope: str) -> dict[str, Any]:
    def value(v: Any) -> dict[str, Any]:
        if isinstance(v, float):
            return {"doubleValue": v}
        return {"intValue": str(v)} if isinstance(v, int) else {"stringValue": str(v)}

    return {
        "scope": {"name": scope},
        "spans": [
            {
                "traceId": "0af7651916cd43dd8448eb211c80319c",
                "spanId": span_id,
                "name": "chat claude-sonnet-4-5",
                "startTimeUnixNano": str(START),
                "endTimeUnixNano": str(START + 900_000_000),
                "attributes": [{"key": k, "value": value(v)} for k, v in attributes.items()],
            }
        ],
    }


def _export(*scopes: dict[str, Any]) -> dict[str, Any]:
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "chat-svc"}}]}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": list(scopes)}]}


COMMON = {
    "gen_ai.provider.name": "anthropic",
    "gen_ai.response.model": "claude-sonnet-4-5",
    "gen_ai.response.id": "msg_01MERGE",
}
# traceloop's reading: the writes under their earlier name, no TTL split.
TRACELOOP = {
    **COMMON,
    "gen_ai.usage.input_tokens": 1521,
    "gen_ai.usage.cache_read.input_tokens": 0,
    "gen_ai.usage.output_tokens": 12,
}
# The Anthropic SDK's own: the writes and their one-hour part.
NATIVE = {
    **COMMON,
    "gen_ai.usage.input_tokens": 1521,
    "gen_ai.usage.cache_read.input_tokens": 0,
    "gen_ai.usage.cache_write.input_tokens": 1500,
    "anthropic.usage.cache_creation.ephemeral_5m_input_tokens": 500,
    "anthropic.usage.cache_creation.ephemeral_1h_input_tokens": 1000,
    "gen_ai.usage.output_tokens": 12,
    "gen_ai.response.time_to_first_chunk": 0.2,
}


def _events(engine: Engine) -> list[UsageEvent]:
    with Session(engine) as session:
        return list(session.scalars(select(UsageEvent)))


def _summary(client: TestClient, auth: dict[str, str]) -> dict[str, Any]:
    body = client.get(
        "/v1/reports/summary?start=2026-11-01&end=2026-12-01&group_by=app", headers=auth
    ).json()
    [group] = body["groups"]
    return dict(group)


# Claude Sonnet 4.5: $3 in, $3.75 5m write, $6 1h write, $15 out per MTok:
# 21 x 3 + 500 x 3.75 + 1000 x 6 + 12 x 15 = 63 + 1875 + 6000 + 180 = 8118 -> $0.008118.
COMPLETE_COST = Decimal("0.008118")


def test_two_spans_of_one_call_in_one_export_keep_the_writes(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    # The less complete span comes first.
    export = _export(
        _span("a1", TRACELOOP, "opentelemetry.instrumentation.anthropic"),
        _span("b2", NATIVE, "com.anthropic.sdk.python"),
    )
    response = client.post("/v1/traces", json=export, headers=auth)
    assert response.status_code == 200, response.text
    [event] = _events(engine)
    assert (event.input_tokens, event.cache_write_tokens, event.cache_write_1h_tokens) == (
        1521,
        1500,
        1000,
    )
    assert event.ttft_ms == 200.0
    assert event.cost == COMPLETE_COST
    summary = _summary(client, auth)
    assert summary["requests"] == 1
    assert summary["cache_write_tokens"] == 1500
    assert Decimal(summary["cost"]) == COMPLETE_COST


def test_a_later_span_completes_the_stored_record_and_its_rollups(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    first = _export(_span("a1", TRACELOOP, "opentelemetry.instrumentation.anthropic"))
    assert client.post("/v1/traces", json=first, headers=auth).status_code == 200
    # Without its writes, 1521 tokens were priced as plain input: 1521 x 3 + 12 x 15 = 4743.
    assert _events(engine)[0].cost == Decimal("0.004743")
    later = _export(_span("b2", NATIVE, "com.anthropic.sdk.python"))
    assert client.post("/v1/traces", json=later, headers=auth).status_code == 200
    [event] = _events(engine)
    assert (event.cache_write_tokens, event.cache_write_1h_tokens) == (1500, 1000)
    assert event.cost == COMPLETE_COST
    summary = _summary(client, auth)
    assert (summary["requests"], summary["input_tokens"]) == (1, 1521)
    assert summary["cache_write_tokens"] == 1500
    assert Decimal(summary["cost"]) == COMPLETE_COST
    # The same span again adds nothing and changes nothing.
    assert client.post("/v1/traces", json=later, headers=auth).status_code == 200
    assert _summary(client, auth) == summary


def test_a_pushed_duplicate_is_not_merged(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    first = anthropic_record(request_id="push-1", plain=100, write=0, output=10)
    again = anthropic_record(request_id="push-1", plain=100, write=900, output=10)
    assert client.post("/v1/usage", json=first, headers=auth).json()["accepted"] == 1
    # Pushed records are reports, not spans of one call: other numbers are a conflict.
    assert client.post("/v1/usage", json=again, headers=auth).status_code == 409
    [event] = _events(engine)
    assert event.cache_write_tokens == 0
