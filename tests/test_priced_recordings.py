"""Whole requests priced by hand, end to end through the API: a recorded compaction request, a
recorded Bedrock InvokeModel stream, and a reasoning model hosted by OpenRouter."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from store.models import UsageEvent

CORPUS = Path(__file__).resolve().parent / "corpus"


def _case(family: str, name: str) -> dict[str, Any]:
    case: dict[str, Any] = json.loads((CORPUS / family / f"{name}.json").read_text())
    return case


def _store(client: TestClient, auth: dict[str, str], engine: Engine, record: dict[str, Any]) -> Any:
    record = {"occurred_at": "2026-11-20T10:00:00Z", **record}
    response = client.post("/v1/usage", json=record, headers=auth)
    assert response.json()["accepted"] == 1, response.text
    with Session(engine) as session:
        return session.execute(select(UsageEvent)).scalar_one()


def test_a_recorded_compaction_request_is_the_sum_of_its_steps(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    # crmne/ruby_llm recorded a claude-sonnet-4-6 request that compacted its context first.
    payload = copy.deepcopy(
        _case("anthropic", "anthropic-rl-sonnet46-compaction-iterations")["payload"]
    )
    # The cassette scrubbed inference_geo to a placeholder; the request ran at the list rates.
    payload["usage"]["inference_geo"] = "global"
    event = _store(client, auth, engine, {"provider": "anthropic", "response": payload})
    assert (event.input_tokens, event.output_tokens) == (99_357, 92)
    # Claude Sonnet 4.6: $3 in, $15 out per MTok, no long-context tier. Compaction step:
    # 99,195 x 3 + 81 x 15 = 297,585 + 1,215 = 298,800; message step: 162 x 3 + 11 x 15 = 651.
    # The top-level usage (162 in, 11 out) alone would be $0.000651.
    assert event.cost == Decimal("0.299451")


def test_a_recorded_bedrock_invoke_stream_is_priced_at_bedrock_metering(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    # Arize-ai/openinference recorded an InvokeModelWithResponseStream of Claude 3.5 Sonnet.
    case = _case("bedrock", "bedrock-invoke-stream-metrics-disagree")
    event = _store(client, auth, engine, {"response": case["payload"]})
    assert event.provider == "aws"  # msg_bdrk_ id and invocation metrics: Bedrock served it
    # Bedrock's regional Claude 3.5 Sonnet: $3 in, $15 out per MTok; Bedrock meters 702 in,
    # 98 out: 2,106 + 1,470 = 3,576 -> $0.003576 (message_delta's 130 would add $0.00048).
    assert (event.input_tokens, event.output_tokens) == (702, 98)
    assert event.cost == Decimal("0.003576")


def test_an_openrouter_hosted_reasoning_model_counts_reasoning_once(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    # OpenRouter reports reasoning INSIDE completion_tokens whatever the upstream vendor does
    # (Gemini itself reports thoughts beside candidates): total = prompt + completion.
    response = {
        "id": "gen-1764000000-aBcDeFgHiJkLmNoPqRsT",
        "provider": "Google",
        "model": "google/gemini-2.5-pro",
        "object": "chat.completion",
        "choices": [],
        "usage": {
            "prompt_tokens": 1200,
            "completion_tokens": 620,
            "total_tokens": 1820,
            "cost": 0.006575,
            "prompt_tokens_details": {"cached_tokens": 1000},
            "completion_tokens_details": {"reasoning_tokens": 500},
        },
    }
    event = _store(client, auth, engine, {"response": response})
    assert (event.provider, event.model) == ("openrouter", "gemini-2.5-pro")
    assert (event.output_tokens, event.reasoning_tokens) == (620, 500)
    # OpenRouter's google/gemini-2.5-pro: $1.25 in, $0.125 cache read, $10 out per MTok:
    # 200 x 1.25 + 1000 x 0.125 + 620 x 10 = 250 + 125 + 6,200 = 6,575 -> $0.006575,
    # which is what OpenRouter charged.
    assert event.cost == Decimal("0.006575")
    assert event.reported_cost == Decimal("0.006575")
