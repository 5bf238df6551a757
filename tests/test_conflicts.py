"""A request id reused with other usage, model or provider is an idempotency conflict: 409 for
one record, listed in a batch's answer, counted, and nothing stored changes; a true retry
stays a silent duplicate."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from store.models import UsageEvent
from tests.factories import anthropic_record


def _stored(engine: Engine) -> list[tuple[Any, ...]]:
    with Session(engine) as session:
        return [
            (e.request_id, e.input_tokens, e.cache_write_tokens, e.model, e.cost)
            for e in session.scalars(select(UsageEvent).order_by(UsageEvent.request_id))
        ]


def _conflicts_counted(client: TestClient) -> float:
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == "cachemeter_ingest_records_total" and sample.labels == {
                "result": "conflict"
            }:
                return sample.value
    return 0.0


def test_a_single_record_reusing_a_request_id_with_other_usage_is_409(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    first = anthropic_record(request_id="req-9", plain=1000, output=100)
    assert client.post("/v1/usage", json=first, headers=auth).json()["accepted"] == 1
    before = _stored(engine)
    # Claude Sonnet 4.5: 1000 x $3 + 100 x $15 per MTok = 4500 -> $0.0045.
    assert before == [("req-9", 1000, 0, "claude-sonnet-4-5", Decimal("0.0045"))]
    other = anthropic_record(request_id="req-9", plain=1000, write=900, output=100)
    answer = client.post("/v1/usage", json=other, headers=auth)
    assert answer.status_code == 409
    detail = answer.json()["detail"]
    assert "request_id 'req-9' was stored with other usage" in detail
    assert "cache_write_tokens 900 (stored: 0)" in detail
    assert "input_tokens 1900 (stored: 1000)" in detail
    assert _stored(engine) == before
    assert _conflicts_counted(client) == 1
    # Another model under the same id conflicts too.
    renamed = anthropic_record(request_id="req-9", plain=1000, output=100, model="claude-opus-4-5")
    answer = client.post("/v1/usage", json=renamed, headers=auth)
    assert answer.status_code == 409 and "model 'claude-opus-4-5'" in answer.json()["detail"]
    # A true retry is a silent duplicate.
    again = client.post("/v1/usage", json=first, headers=auth)
    assert again.status_code == 200
    assert (again.json()["duplicates"], again.json()["conflicts"]) == (1, [])
    assert _stored(engine) == before


def test_a_batch_lists_its_conflicts_and_stores_the_rest(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    stored = anthropic_record(request_id="a", plain=500, output=10)
    assert client.post("/v1/usage", json=stored, headers=auth).json()["accepted"] == 1
    batch = {
        "records": [
            anthropic_record(request_id="b", plain=700, output=20),  # new
            anthropic_record(request_id="a", plain=500, output=99),  # conflict
            anthropic_record(request_id="a", plain=500, output=10),  # retry
        ]
    }
    answer = client.post("/v1/usage", json=batch, headers=auth)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["accepted"], body["duplicates"]) == (1, 1)
    [conflict] = body["conflicts"]
    assert conflict["index"] == 1 and conflict["field"] == "request_id"
    assert "output_tokens 99 (stored: 10)" in conflict["error"]
    assert [(r, i) for r, i, *_ in _stored(engine)] == [("a", 500), ("b", 700)]
