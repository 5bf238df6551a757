"""A request made of sampling steps (Anthropic `usage.iterations`) is the sum of its steps, each
charged at the rates of the model it ran on: an advisor step at the advisor model's price."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from reports.reprice import reprice
from store.models import UsageEvent


def _step(kind: str, plain: int, output: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "input_tokens": plain,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
        "output_tokens": output,
        **extra,
    }


def test_an_advisor_step_is_charged_at_its_own_model(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    last = _step("message", 1500, 200)
    usage = {
        **{k: v for k, v in last.items() if k != "type"},
        "iterations": [
            _step("message", 1000, 50),
            _step("advisor_message", 2000, 300, model="claude-opus-4-6"),
            last,
        ],
    }
    response = {
        "id": "msg_advisor1",
        "type": "message",
        "model": "claude-sonnet-4-5-20250929",
        "usage": usage,
    }
    record = {"provider": "anthropic", "occurred_at": "2026-11-20T10:00:00Z", "response": response}
    assert client.post("/v1/usage", json=record, headers=auth).json()["accepted"] == 1
    with Session(engine) as session:
        event = session.execute(select(UsageEvent)).scalar_one()
    # The counts are the sum of the steps.
    assert (event.input_tokens, event.output_tokens) == (4500, 550)
    assert event.steps is not None and [s["model"] for s in event.steps] == [
        None,
        "claude-opus-4-6",
        None,
    ]
    # Claude Sonnet 4.5 ($3 in, $15 out per MTok) for its own steps:
    #   (1000 + 1500) x 3 + (50 + 200) x 15 = 7500 + 3750 = 11250 -> $0.01125;
    # Claude Opus 4.6 ($5 in, $25 out) for the advisor's: 2000 x 5 + 300 x 25 = 17500
    # -> $0.0175. Together $0.02875 (all at Sonnet's rates it would be $0.02175).
    assert event.cost == Decimal("0.02875")
    assert event.cost_uncached_input == Decimal("0.0175")  # 7500 + 10000
    assert event.cost_output == Decimal("0.01125")  # 3750 + 7500
    assert event.nocache_cost == Decimal("0.02875")  # no cache: nothing saved
    # Re-pricing prices the steps again the same way: nothing changes.
    report = reprice(
        engine,
        start=event.occurred_at,
        end=event.occurred_at + timedelta(seconds=1),
        actor="test",
        reason="steps kept",
        dry_run=True,
    )
    assert (report.events_seen, report.events_changed) == (1, 0)


def test_an_advisor_model_without_a_price_leaves_the_request_unpriced(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    usage = {
        "input_tokens": 10,
        "output_tokens": 5,
        "iterations": [
            _step("message", 10, 5),
            _step("advisor_message", 20, 7, model="claude-advisor-x9"),
        ],
    }
    record = {
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "occurred_at": "2026-11-20T10:00:00Z",
        "request_id": "adv-2",
        "usage": usage,
    }
    assert client.post("/v1/usage", json=record, headers=auth).json()["accepted"] == 1
    with Session(engine) as session:
        event = session.execute(select(UsageEvent)).scalar_one()
    assert event.cost is None
    assert "claude-advisor-x9" in (event.unpriced_reason or "")
