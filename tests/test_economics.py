"""Cache economics: reads per write, break-even, money-losing prefixes, the 1-hour what-if."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from billing import Rates
from billing.economics import PrefixRequest, what_if_one_hour
from tests.factories import anthropic_record, tenant_with_key

# Claude Sonnet 4.5: $3 in, $0.30 read, $3.75 5m write, $6 1h write, $15 out per MTok.
SONNET = Rates.build(
    input=Decimal(3),
    output=Decimal(15),
    cache_read=Decimal("0.3"),
    cache_write=Decimal("3.75"),
    cache_write_1h=Decimal(6),
)
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_what_if_one_hour_by_hand() -> None:
    requests = [
        PrefixRequest(T0, 0, 4000, 0),  # first write: stays a write, at the 1h rate
        PrefixRequest(T0 + timedelta(minutes=10), 0, 4000, 0),  # 10 min gap: a 1h cache would hit
        PrefixRequest(T0 + timedelta(minutes=12), 4000, 0, 0),  # a read: unchanged
        PrefixRequest(T0 + timedelta(hours=2), 0, 4000, 0),  # 108 min gap: a write either way
        PrefixRequest(T0 + timedelta(hours=2, minutes=3), 0, 4000, 0),  # 3 min: the 5m cache held?
    ]
    result = what_if_one_hour(requests, SONNET)
    # Writes kept: 3 x 4000 x (6 - 3.75) = 27000; the hit: 4000 x (0.30 - 3.75) = -13800.
    assert result.delta == Decimal("0.0132")
    assert result.requests_that_would_hit == 1


def test_prefixes_that_lose_money(client: TestClient, engine: Engine) -> None:
    _, key = tenant_with_key(engine)
    auth = {"Authorization": f"Bearer {key}"}

    def at(minutes: int) -> str:
        return (T0 + timedelta(minutes=minutes)).isoformat()

    records = [
        anthropic_record(
            request_id="lose-w",
            plain=50,
            write=4000,
            output=10,
            app="a",
            prefix_hash="lose",
            occurred_at=at(0),
        ),
        anthropic_record(
            request_id="win-w",
            plain=50,
            write=4000,
            output=10,
            app="a",
            prefix_hash="win",
            occurred_at=at(0),
        ),
        *[
            anthropic_record(
                request_id=f"win-r{i}",
                plain=50,
                read=4000,
                output=10,
                app="a",
                prefix_hash="win",
                occurred_at=at(1 + i),
            )
            for i in range(5)
        ],
    ]
    assert client.post("/v1/usage", json={"records": records}, headers=auth).json()["accepted"] == 7
    body = client.get(
        "/v1/reports/cache-economics?start=2026-11-20&end=2026-11-21", headers=auth
    ).json()
    by_prefix = {p["prefix"]: p for p in body["prefixes"]}
    lose, win = by_prefix["lose"], by_prefix["win"]
    # One write of 4000 at $3.75 never read: savings = 4000 x (3 - 3.75) = -3000 -> -$0.003.
    assert (lose["net_savings"], lose["loses_money"], lose["reads_per_write"]) == (
        "-0.003",
        True,
        0,
    )
    # Five reads per write; each read saves 4000 x (3 - 0.30) = 10800: 54000 - 3000 = 51000.
    assert (win["reads_per_write"], win["net_savings"], win["loses_money"]) == (5, "0.051", False)
    # (1.25 - 1) / (1 - 0.1) = 0.278 reads to break even.
    assert win["break_even_reads"] == pytest.approx(0.278, abs=0.001)
    assert [p["prefix"] for p in body["losing"]] == ["lose"]
    # What-if: each prefix's single write costs 4000 x (6 - 3.75) = 9000 more at the 1h rate.
    assert lose["what_if_1h_change"] == "0.009"
    assert body["what_if_1h"] == {"USD": "0.018"}
