"""Reconciliation: computed cost vs the charge the source reported, with the likely cause."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from billing.catalogue import PriceSpec
from cachemeter.cli.main import main
from store.prices import add_price
from tests.factories import anthropic_record

AT = "2026-11-20T10:00:00Z"


@pytest.fixture
def seeded(client: TestClient, engine: Engine, auth: dict[str, str]) -> None:
    with engine.begin() as conn:
        # Venice's Claude Opus 4.5 list: $6 in, $7.50 write; no 1-hour write price entered.
        add_price(
            conn,
            PriceSpec(
                provider="venice",
                model="claude-opus-4-5",
                input_mtok=Decimal(6),
                output_mtok=Decimal(30),
                cache_read_mtok=Decimal("0.6"),
                cache_write_mtok=Decimal("7.5"),
            ),
        )
    openrouter = {
        "request_id": "or",
        "occurred_at": AT,
        "provider": "openrouter",
        "response": {
            "model": "anthropic/claude-opus-4.8",
            "usage": {
                "prompt_tokens": 194,
                "completion_tokens": 2,
                "cost": 0.001145,
                "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 100},
            },
        },
    }
    reads_as_input = anthropic_record(
        request_id="ri", plain=1000, read=4000, output=100, reported_cost="0.0165"
    )
    close_enough = {
        **anthropic_record(
            request_id="ce", plain=1000, read=4000, output=100, reported_cost="0.005705"
        ),
        "model": "claude-sonnet-4-0",
    }
    one_hour = {
        "request_id": "1h",
        "occurred_at": AT,
        "provider": "venice",
        "model": "claude-opus-4-5",
        "reported_cost": "0.0126",
        "usage": {
            "input_tokens": 100,
            "cache_creation_input_tokens": 1000,
            "output_tokens": 0,
            "cache_creation": {"ephemeral_1h_input_tokens": 1000},
        },
    }
    markup = {
        "request_id": "mk",
        "occurred_at": AT,
        "provider": "groq",
        "model": "openai/gpt-oss-120b",
        "reported_cost": "0.000363",
        "usage": {
            "prompt_tokens": 3000,
            "completion_tokens": 120,
            "prompt_tokens_details": {"cached_tokens": 2560},
        },
    }
    unknown = {
        "request_id": "uk",
        "occurred_at": AT,
        "provider": "stepfun",
        "model": "step-x",
        "reported_cost": "0.01",
        "usage": {"prompt_tokens": 10, "completion_tokens": 1},
    }
    no_report = anthropic_record(request_id="nr")
    batch = [openrouter, reads_as_input, close_enough, one_hour, markup, unknown, no_report]
    assert client.post("/v1/usage", json={"records": batch}, headers=auth).json()["accepted"] == 7


def test_reconciliation_flags_and_explains(
    client: TestClient, auth: dict[str, str], seeded: None
) -> None:
    body = client.get(
        "/v1/reports/reconciliation?start=2026-11-01&end=2026-12-01", headers=auth
    ).json()
    groups = {(g["provider"], g["model"]): g for g in body["groups"]}
    assert len(groups) == 6  # the record without a reported charge is not reconciled
    # Grouped by the canonical model: the vendor prefix of the gateway's name is dropped.
    # OpenRouter Opus 4.8: 94 x $5 + 100 x $6.25 + 2 x $25 = 470 + 625 + 50 -> $0.001145.
    assert groups[("openrouter", "claude-opus-4-8")]["computed"] == "0.001145"
    assert not groups[("openrouter", "claude-opus-4-8")]["flagged"]
    # Sonnet 4.0 at $3/$0.30/$15: 1000 x 3 + 4000 x 0.3 + 100 x 15 = 5700 -> 0.0057,
    # reported 0.005705 (0.09% off).
    assert not groups[("anthropic", "claude-sonnet-4-0")]["flagged"]
    reads = groups[("anthropic", "claude-sonnet-4-5")]
    # Reads at input: 5000 x 3 + 100 x 15 = 16500 -> the reported 0.0165.
    assert (reads["computed"], reads["difference"]) == ("0.0057", "0.0108")
    assert reads["likely_cause"] == "cache reads priced as plain input by the source"
    # 100 x 6 + 1000 x 7.50 = 8100 computed; at a 2x 1-hour rate: 600 + 12000 = 12600 reported.
    assert groups[("venice", "claude-opus-4-5")]["computed"] == "0.0081"
    assert groups[("venice", "claude-opus-4-5")]["likely_cause"].startswith(
        "missing 1h write price"
    )
    # Groq gpt-oss-120b: 440 x 0.15 + 2560 x 0.075 + 120 x 0.6 = 66 + 192 + 72 = 330; +10% reported.
    markup = groups[("groq", "gpt-oss-120b")]
    assert markup["computed"] == "0.00033"
    assert markup["likely_cause"] == "the source adds about 10.0% (gateway fee or markup)"
    unknown = groups[("stepfun", "step-x")]
    assert unknown["flagged"] and unknown["likely_cause"].startswith("unknown model")
    assert {(g["provider"], g["model"]) for g in body["flagged"]} == {
        ("anthropic", "claude-sonnet-4-5"),
        ("venice", "claude-opus-4-5"),
        ("groq", "gpt-oss-120b"),
        ("stepfun", "step-x"),
    }


def test_tolerance_is_configurable(client: TestClient, auth: dict[str, str], seeded: None) -> None:
    body = client.get(
        "/v1/reports/reconciliation?start=2026-11-01&end=2026-12-01&tolerance_pct=0", headers=auth
    ).json()
    close = next(g for g in body["groups"] if g["model"] == "claude-sonnet-4-0")
    assert close["flagged"] and close["difference"] == "0.000005"


def test_cli_reconcile(cli_db: str, seeded: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["reconcile", "--start", "2026-11-01", "--end", "2026-12-01", "--tenant", "acme"]) == 0
    )
    body: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert len(body["flagged"]) == 4 and "groups" not in body
    with pytest.raises(SystemExit) as exit_info:
        main(["reconcile", "--start", "2026-11-01", "--end", "2026-12-01", "--tolerance-pct", "-1"])
    assert exit_info.value.code == 2
    assert "must be a non-negative number" in capsys.readouterr().err
