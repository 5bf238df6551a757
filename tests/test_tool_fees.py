"""Server-tool fees are a part of the cost: Anthropic web search at $10 per 1,000 searches,
web fetch at no fee; a tool whose fee is not known leaves the request unpriced with the reason."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from reports.reprice import reprice
from store.models import UsageEvent
from tests.factories import anthropic_record

CORPUS = Path(__file__).resolve().parent / "corpus"


def _event(engine: Engine) -> UsageEvent:
    with Session(engine) as session:
        return session.execute(select(UsageEvent)).scalar_one()


def test_a_recorded_web_search_pays_its_fee(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    # simonw/llm-anthropic recorded a claude-opus-4-1 stream that searched the web once.
    name = "anthropic-llma-web-search-stream-input-grows"
    case = json.loads((CORPUS / "anthropic" / f"{name}.json").read_text())
    record = {"provider": "anthropic", "model": case["model"], "response": case["payload"]}
    assert client.post("/v1/usage", json=record, headers=auth).json()["accepted"] == 1
    event = _event(engine)
    assert event.tool_requests == {"web_search": 1}
    # Claude Opus 4.1 per MTok: $15 in, $75 out. 10,423 x 15 + 341 x 75 = 156,345 + 25,575
    # = 181,920 -> $0.18192 of tokens, plus one search at $0.01.
    assert event.cost_tool_fees == Decimal("0.01")
    assert event.cost == Decimal("0.19192")
    assert event.nocache_cost == Decimal("0.19192")  # no cache was used: nothing saved
    assert event.savings == Decimal(0)
    # Re-pricing keeps the fee: nothing changes.
    report = reprice(
        engine,
        start=event.occurred_at,
        end=event.occurred_at + timedelta(seconds=1),
        actor="test",
        reason="fees kept",
        dry_run=True,
    )
    assert (report.events_seen, report.events_changed) == (1, 0)


def test_statement_and_summary_carry_tool_fees(client: TestClient, auth: dict[str, str]) -> None:
    record = anthropic_record(request_id="ws", plain=1000, output=200, team="research")
    record["usage"]["server_tool_use"] = {"web_search_requests": 3, "web_fetch_requests": 1}
    assert client.post("/v1/usage", json=record, headers=auth).json()["accepted"] == 1
    # Claude Sonnet 4.5: 1000 x 3 + 200 x 15 = 6000 -> $0.006; 3 searches x $0.01 = $0.03;
    # fetches cost nothing beyond their tokens.
    statement = client.get("/v1/reports/statement?month=2026-11&group_by=team", headers=auth).json()
    [line] = statement["lines"]
    assert (line["cost_tool_fees"], line["cost"], line["savings"]) == ("0.03", "0.036", "0")
    summary = client.get(
        "/v1/reports/summary?start=2026-11-01&end=2026-12-01&group_by=team", headers=auth
    ).json()
    assert summary["groups"][0]["cost"] == "0.036"


def test_a_tool_with_no_known_fee_is_stored_unpriced_with_the_reason(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    record = anthropic_record(request_id="cx")
    record["usage"]["server_tool_use"] = {"code_execution_requests": 2}
    answer = client.post("/v1/usage", json=record, headers=auth).json()
    assert (answer["accepted"], answer["unpriced"]) == (1, 1)
    event = _event(engine)
    assert event.cost is None and event.tool_requests == {"code_execution": 2}
    assert "fees of anthropic for code_execution are not known" in (event.unpriced_reason or "")


def _post(client: TestClient, auth: dict[str, str], record: dict[str, object]) -> None:
    response = client.post("/v1/usage", json=record, headers=auth)
    assert response.json()["accepted"] == 1, response.text


def test_openai_web_search_calls_pay_the_listed_fee(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    response = {
        "id": "resp_ws1",
        "object": "response",
        "model": "gpt-4o",
        "output": [
            {
                "type": "web_search_call",
                "id": "ws_1",
                "status": "completed",
                "action": {"type": "search", "query": "cachemeter"},
            },
            {
                "type": "web_search_call",
                "id": "ws_2",
                "status": "completed",
                "action": {"type": "open_page", "url": "https://example.com"},
            },
            {"type": "web_search_call", "id": "ws_3", "status": "completed"},
            {"type": "message", "id": "msg_1", "role": "assistant", "content": []},
        ],
        "usage": {
            "input_tokens": 2000,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 300,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 2300,
        },
    }
    _post(
        client,
        auth,
        {"provider": "openai", "occurred_at": "2026-11-20T10:00:00Z", "response": response},
    )
    event = _event(engine)
    # Two searches (opening a page is not one), at genai-prices' $10 per 1,000 for gpt-4o.
    assert event.tool_requests == {"web_search": 2}
    assert event.cost_tool_fees == Decimal("0.02")
    # gpt-4o: 2000 x $2.50 + 300 x $10 per MTok = 8000 -> $0.008, plus $0.02.
    assert event.cost == Decimal("0.028")


def test_perplexity_request_fee_follows_the_search_context_size(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    def sonar(request_id: str, size: str, model: str = "sonar") -> dict[str, object]:
        usage = {
            "prompt_tokens": 7,
            "completion_tokens": 120,
            "total_tokens": 127,
            "search_context_size": size,
        }
        return {
            "occurred_at": "2026-11-20T10:00:00Z",
            "request_id": request_id,
            "response": {"id": request_id, "model": model, "usage": usage},
        }

    for rid, size in (("low", "low"), ("medium", "medium"), ("high", "high")):
        _post(client, auth, sonar(rid, size))
    _post(client, auth, sonar("huge", "huge"))
    with Session(engine) as session:
        events = {e.request_id: e for e in session.scalars(select(UsageEvent))}
    # Sonar: $1 in, $1 out per MTok: 127 -> $0.000127, plus the request fee for the search
    # context size: $5, $8, $12 per 1,000 requests.
    assert events["low"].service_tier == "search_context:low"
    assert {r: events[r].cost_tool_fees for r in ("low", "medium", "high")} == {
        "low": Decimal("0.005"),
        "medium": Decimal("0.008"),
        "high": Decimal("0.012"),
    }
    assert events["low"].cost == Decimal("0.005127")
    assert events["huge"].cost is None
    assert "search context size 'huge'" in (events["huge"].unpriced_reason or "")
