"""One model, one name: reports group by the canonical model; prices follow the reported name."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from billing.aliases import canonical_model
from store.models import UsageEvent


@pytest.mark.parametrize(
    ("provider", "reported", "canonical"),
    [
        ("openai", "gpt-4o", "gpt-4o"),
        ("openai", "gpt-4o-2024-08-06", "gpt-4o"),  # a snapshot at the family's price
        ("openai", "gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),  # priced apart: kept
        ("openrouter", "openai/gpt-4o", "gpt-4o"),
        ("litellm", "openai/gpt-4o", "gpt-4o"),
        ("anthropic", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("openrouter", "anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),
        ("google", "models/gemini-2.5-flash", "gemini-2.5-flash"),
        ("aws", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        # Unknown to genai-prices: the name as reported (an unknown host prefix stays).
        (
            "together",
            "meta-llama/Llama-3.3-70B-Instruct-Turbo",
            "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        ),
        ("acme", "in-house-7b", "in-house-7b"),
    ],
)
def test_canonical_model_names(provider: str, reported: str, canonical: str) -> None:
    assert canonical_model(provider, reported) == canonical


def _chat(request_id: str, model: str, provider: str) -> dict[str, Any]:
    return {
        "provider": provider,
        "occurred_at": "2026-11-20T10:00:00Z",
        "request_id": request_id,
        "response": {
            "id": request_id,
            "object": "chat.completion",
            "model": model,
            "usage": {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100},
        },
    }


def test_reports_group_by_the_canonical_model(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    records = [
        _chat("r1", "gpt-4o", "openai"),
        _chat("r2", "gpt-4o-2024-08-06", "openai"),
        _chat("r3", "openai/gpt-4o", "litellm"),
        _chat("r4", "gpt-4o-2024-05-13", "openai"),
    ]
    response = client.post("/v1/usage", json={"records": records}, headers=auth)
    assert response.status_code == 200, response.text
    with Session(engine) as session:
        events = {e.request_id: e for e in session.scalars(select(UsageEvent))}
    assert {r: (e.model, e.reported_model) for r, e in events.items()} == {
        "r1": ("gpt-4o", "gpt-4o"),
        "r2": ("gpt-4o", "gpt-4o-2024-08-06"),
        "r3": ("gpt-4o", "openai/gpt-4o"),
        "r4": ("gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),
    }
    summary = client.get(
        "/v1/reports/summary?start=2026-11-01&end=2026-12-01&group_by=model", headers=auth
    ).json()
    groups = {g["group"]: g for g in summary["groups"]}
    assert set(groups) == {"gpt-4o", "gpt-4o-2024-05-13"}
    assert groups["gpt-4o"]["requests"] == 3
    # gpt-4o: $2.50 in, $10 out per MTok: 1000 x 2.5 + 100 x 10 = 3500 per request.
    assert Decimal(groups["gpt-4o"]["cost"]) == Decimal("0.0105")
    # The May snapshot is priced by its own name: $5 in, $15 out: 5000 + 1500.
    assert Decimal(groups["gpt-4o-2024-05-13"]["cost"]) == Decimal("0.0065")
