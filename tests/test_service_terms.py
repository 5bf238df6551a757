"""A request's service terms change its price: batch (and OpenAI flex) bill half the standard
rates, Anthropic's US-only inference 1.1x; a tier or geography whose rates are not known leaves
the request unpriced with the reason, never at the standard rate; re-pricing keeps each
request's terms."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from billing import Price, PriceNotFound, Rates, Tier
from billing.terms import at_inference_geo, at_service_tier
from reports.reprice import reprice
from store.models import UsageEvent
from tests.factories import anthropic_record

CORPUS = Path(__file__).resolve().parent / "corpus"


def _price() -> Price:
    rates = Rates.build(
        input=Decimal(3), output=Decimal(15), cache_read=Decimal("0.3"), cache_write=Decimal("3.75")
    )
    tier = Tier(200_000, rates.scaled(Decimal(2)))
    return Price("anthropic", "claude-sonnet-4-5", "USD", rates, "test", tiers=(tier,))


def test_batch_halves_every_rate_and_standard_tiers_change_nothing() -> None:
    price = _price()
    batch = at_service_tier(price, "anthropic", "batch")
    assert (batch.rates.input, batch.rates.cache_read, batch.rates.cache_write) == (
        Decimal("1.5"),
        Decimal("0.15"),
        Decimal("1.875"),
    )
    assert batch.rates.output == Decimal("7.5")
    assert batch.tiers[0].rates.input == Decimal(3)  # the long-context tier too: 6 x 0.5
    assert at_service_tier(price, "openai", "flex") != price
    for tier in (None, "standard", "default", "auto", "on_demand", "Standard"):
        assert at_service_tier(price, "anthropic", tier) == price


def test_an_unknown_tier_is_refused_with_its_name() -> None:
    with pytest.raises(PriceNotFound, match="service tier 'priority' of openai"):
        at_service_tier(_price(), "openai", "priority")


def test_a_batch_request_is_charged_at_half_price(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    record = anthropic_record(request_id="batch-1", plain=1000, read=4000, output=100)
    record["usage"]["service_tier"] = "batch"
    assert client.post("/v1/usage", json=record, headers=auth).json()["accepted"] == 1
    with Session(engine) as session:
        event = session.execute(select(UsageEvent)).scalar_one()
    # Claude Sonnet 4.5 at half its list rates ($1.50 in, $0.15 read, $7.50 out per MTok):
    # 1000 x 1.5 + 4000 x 0.15 + 100 x 7.5 = 1500 + 600 + 750 = 2850 -> $0.00285.
    assert event.service_tier == "batch"
    assert event.cost == Decimal("0.00285")
    # Without cache, at the same tier: 5000 x 1.5 + 100 x 7.5 = 8250 -> $0.00825.
    assert event.nocache_cost == Decimal("0.00825")
    # Re-pricing keeps the tier: nothing changes.
    report = reprice(
        engine,
        start=event.occurred_at,
        end=event.occurred_at.replace(year=event.occurred_at.year + 1),
        actor="test",
        reason="tier kept",
        dry_run=True,
    )
    assert (report.events_seen, report.events_changed) == (1, 0)


def test_a_recorded_priority_request_is_stored_unpriced_with_the_reason(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    # traceloop/openllmetry recorded a gpt-5 chat completion served at service_tier "priority".
    case = json.loads((CORPUS / "openai-chat" / "oll-chat-service-tier-gpt5.json").read_text())
    assert case["payload"]["service_tier"] == "priority"
    answer = client.post(
        "/v1/usage", json={"provider": "openai", "response": case["payload"]}, headers=auth
    ).json()
    assert (answer["accepted"], answer["unpriced"]) == (1, 1)
    with Session(engine) as session:
        event = session.execute(select(UsageEvent)).scalar_one()
    assert event.cost is None and event.service_tier == "priority"
    assert "service tier 'priority' of openai" in (event.unpriced_reason or "")


def test_us_only_inference_costs_a_tenth_more_and_an_unknown_geo_is_refused() -> None:
    price = _price()
    assert at_inference_geo(price, "anthropic", "us").rates.output == Decimal("16.5")
    assert at_inference_geo(price, "anthropic", "global") == price
    assert at_inference_geo(price, "anthropic", None) == price
    with pytest.raises(PriceNotFound, match="inference geo 'eu' of anthropic"):
        at_inference_geo(price, "anthropic", "eu")


def test_a_us_only_request_is_charged_at_its_geo_rate(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    record = anthropic_record(
        request_id="geo-1", model="claude-opus-4-6", plain=2000, read=10000, output=500
    )
    record["usage"]["inference_geo"] = "us"
    assert client.post("/v1/usage", json=record, headers=auth).json()["accepted"] == 1
    with Session(engine) as session:
        event = session.execute(select(UsageEvent)).scalar_one()
    # Claude Opus 4.6 list: $5 in, $0.50 cache read, $25 out per MTok; US-only 1.1x: $5.50,
    # $0.55, $27.50. 2000 x 5.5 + 10000 x 0.55 + 500 x 27.5 = 11000 + 5500 + 13750 = 30250.
    assert (event.inference_geo, event.cost) == ("us", Decimal("0.03025"))


def test_a_service_term_the_database_cannot_hold_is_refused_naming_it(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    record = anthropic_record(request_id="long-tier")
    record["usage"]["service_tier"] = "t" * 40
    answer = client.post("/v1/usage", json=record, headers=auth)
    assert answer.status_code == 422
    [rejected] = answer.json()["rejected"]
    assert rejected["error"] == "usage.service_tier: must be at most 32 characters of text"
    with Session(engine) as session:
        assert session.execute(select(UsageEvent)).first() is None


def _stored(
    client: TestClient, auth: dict[str, str], engine: Engine, record: dict[str, Any]
) -> UsageEvent:
    assert client.post("/v1/usage", json=record, headers=auth).json()["accepted"] == 1
    with Session(engine) as session:
        return session.execute(select(UsageEvent)).scalar_one()


def test_fast_mode_is_a_per_model_multiplier_with_caching_on_top(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    record = anthropic_record(
        request_id="fast-1", model="claude-opus-4-6", plain=1000, read=4000, write=2000, output=100
    )
    record["usage"]["speed"] = "fast"
    event = _stored(client, auth, engine, record)
    # Claude Opus 4.6 list per MTok: $5 in, $0.50 read, $6.25 5m write, $25 out; fast mode is
    # 6x: $30, $3, $37.50, $150. 1000 x 30 + 4000 x 3 + 2000 x 37.5 + 100 x 150
    # = 30000 + 12000 + 75000 + 15000 = 132000 -> $0.132.
    assert event.speed == "fast"
    assert event.cost == Decimal("0.132")


def test_fast_mode_of_a_model_with_no_known_multiplier_is_unpriced(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    record = anthropic_record(request_id="fast-2", model="claude-opus-5-5", plain=1000)
    record["usage"]["speed"] = "fast"
    event = _stored(client, auth, engine, record)
    assert event.cost is None
    assert "speed for claude-opus-5-5 'fast' of anthropic" in (event.unpriced_reason or "")


def test_vertex_provisioned_throughput_is_not_priced_per_token(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    usage = {
        "promptTokenCount": 1200,
        "candidatesTokenCount": 80,
        "totalTokenCount": 1280,
        "trafficType": "PROVISIONED_THROUGHPUT",
    }
    record = {
        "provider": "google",
        "occurred_at": "2026-11-20T10:00:00Z",
        "request_id": "pt-1",
        "response": {"modelVersion": "gemini-2.5-flash", "usageMetadata": usage},
    }
    event = _stored(client, auth, engine, record)
    assert event.service_tier == "provisioned_throughput"
    assert event.cost is None
    assert "service tier 'provisioned_throughput' of google" in (event.unpriced_reason or "")
    # On-demand traffic is the list price.
    assert at_service_tier(_price(), "google", "on_demand") == _price()
