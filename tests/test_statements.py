"""Finance statements: parts, storage, savings and write premium by group, in a reporting
currency, with totals equal to the sum of the events."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text

from cachemeter.cli.demo import demo_records
from cachemeter.cli.main import main
from store.models import UsageEvent
from tests.factories import (
    GEMINI_CACHE,
    add_stepfun_in_cny,
    anthropic_record,
    stepfun_record,
    two_ttl_write,
)


@pytest.fixture
def month(client: TestClient, engine: Engine, auth: dict[str, str]) -> None:
    with engine.begin() as conn:
        add_stepfun_in_cny(conn)
    records = [
        anthropic_record(request_id="read", plain=1000, read=4000, output=100, team="search"),
        two_ttl_write(team="search"),
        stepfun_record("cny-1", "2026-11-10T00:00:00Z"),
        stepfun_record("cny-2", "2026-11-20T00:00:00Z"),
        anthropic_record(request_id="october", occurred_at="2026-10-31T23:59:59Z", team="search"),
    ]
    assert client.post("/v1/usage", json={"records": records}, headers=auth).json()["accepted"] == 5
    stored = client.post("/v1/caches", json=GEMINI_CACHE, headers=auth).json()
    assert (stored["stored"], stored["unpriced"]) == (1, 0)


def test_statement_in_usd_with_storage_and_fx_periods(
    client: TestClient, auth: dict[str, str], month: None
) -> None:
    response = client.get(
        "/v1/reports/statement?month=2026-11&group_by=team&currency=USD", headers=auth
    )
    assert response.status_code == 200, response.text
    body = response.json()
    lines = {line["group"]: line for line in body["lines"]}
    search = lines["search"]
    # Claude Sonnet 4.5: $3 in, $0.30 read, $3.75 5m write, $6 1h write, $15 out per MTok.
    assert search["cost_uncached_input"] == "0.006"  # (1000 + 1000) x 3
    assert search["cost_cache_read"] == "0.0012"  # 4000 x 0.30
    assert search["cost_cache_write_5m"] == "0.01125"  # 3000 x 3.75
    assert search["cost_cache_write_1h"] == "0.006"  # 1000 x 6
    assert search["cost_output"] == "0.0015"  # 100 x 15
    assert search["cost_storage"] == "1.35"  # Gemini 2.5 Pro: 100,000 tokens x 3 h x $4.50/MTok-h
    assert search["cost"] == "1.37595"
    assert search["nocache_cost"] == "0.0315"  # (5000 + 5000) x 3 + 100 x 15
    assert search["savings"] == "-1.34445"
    assert search["write_premium"] == "0.00525"  # 3000 x 0.75 + 1000 x 3
    assert search["requests"] == 2 and search["caches"] == 1
    vision = lines["vision"]

    # Each part converted at the rate of its period: CNY / 7.25 before Nov 15, / 7.00 after.
    # uncached 79 x 5 = 0.000395 CNY; read 512 x 1 = 0.000512; output 120 x 20 = 0.0024.
    def usd(cny: str, rate: str) -> Decimal:
        return (Decimal(cny) / Decimal(rate)).quantize(Decimal("1e-12"))

    expected_output = usd("0.0024", "7.25") + usd("0.0024", "7.00")
    assert Decimal(vision["cost_output"]) == expected_output
    expected_cost = sum(
        (
            usd(part, rate)
            for part in ("0.000395", "0.000512", "0.0024")
            for rate in ("7.25", "7.00")
        ),
        Decimal(0),
    )
    assert Decimal(vision["cost"]) == expected_cost
    total = body["total"]
    assert Decimal(total["cost"]) == Decimal(search["cost"]) + Decimal(vision["cost"])
    assert total["requests"] == 4  # October's request is not in November's statement


def test_statement_needs_a_currency_and_rates(
    client: TestClient, engine: Engine, auth: dict[str, str], month: None
) -> None:
    mixed = client.get("/v1/reports/statement?month=2026-11", headers=auth)
    assert mixed.status_code == 422 and "CNY, USD" in mixed.text
    no_rate = client.get("/v1/reports/statement?month=2026-11&currency=EUR", headers=auth)
    assert no_rate.status_code == 422 and "fx add" in no_rate.text
    assert client.get("/v1/reports/statement?month=2026-13", headers=auth).status_code == 422
    assert client.get("/v1/reports/statement?month=nov", headers=auth).status_code == 422


def test_statement_csv(client: TestClient, auth: dict[str, str], month: None) -> None:
    text = client.get(
        "/v1/reports/statement?month=2026-11&group_by=team&currency=USD&format=csv", headers=auth
    ).text
    rows = text.strip().splitlines()
    assert rows[0].startswith("group,requests,unpriced_requests,input_tokens")
    assert [r.split(",")[0] for r in rows[1:]] == ["search", "vision", "TOTAL"]
    assert rows[-1].endswith(",USD")


def test_cache_resent_is_updated_not_added(
    client: TestClient, auth: dict[str, str], month: None
) -> None:
    longer = {
        "team": "search",
        "cache": {
            "name": "cachedContents/abc",
            "model": "models/gemini-2.5-pro",
            "createTime": "2026-11-05T10:00:00Z",
            "expireTime": "2026-11-05T16:00:00Z",
            "usageMetadata": {"totalTokenCount": 100000},
        },
    }
    assert client.post("/v1/caches", json=longer, headers=auth).json()["updated"] == 1
    body = client.get(
        "/v1/reports/statement?month=2026-11&group_by=team&currency=USD", headers=auth
    ).json()
    search = next(line for line in body["lines"] if line["group"] == "search")
    assert (search["caches"], search["cost_storage"]) == (1, "2.7")  # 6 h x 0.1 MTok x 4.50


@pytest.mark.parametrize(
    ("cache", "field"),
    [
        ({"model": "gemini-2.5-pro", "name": "c", "token_count": 5}, "expires_at"),
        ({"model": "gemini-2.5-pro", "name": "c", "ttl_seconds": 60}, "token_count"),
        ({"name": "c", "token_count": 5, "ttl_seconds": 60}, "model"),
        (
            {
                "model": "gemini-2.5-pro",
                "name": "c",
                "token_count": 5,
                "ttl_seconds": 60,
                "expires_at": "2026-11-05T16:00:00Z",
            },
            "not both",
        ),
    ],
)
def test_bad_caches_are_rejected(
    client: TestClient, auth: dict[str, str], cache: dict[str, Any], field: str
) -> None:
    response = client.post("/v1/caches", json=cache, headers=auth)
    assert response.status_code == 422
    assert field in response.json()["rejected"][0]["error"]


def test_totals_equal_the_sum_of_events(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    now = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    records = demo_records(now, days=3)
    for i in range(0, len(records), 500):
        client.post("/v1/usage", json={"records": records[i : i + 500]}, headers=auth)
    for group_by in ("team", "app", "model", "provider"):
        body = client.get(
            f"/v1/reports/statement?month=2026-11&group_by={group_by}", headers=auth
        ).json()
        with engine.connect() as conn:
            cost, nocache, count = conn.execute(
                select(func.sum(UsageEvent.cost), func.sum(UsageEvent.nocache_cost), func.count())
            ).one()
        assert Decimal(body["total"]["cost"]) == cost
        assert Decimal(body["total"]["nocache_cost"]) == nocache
        assert body["total"]["requests"] == count
        assert sum(Decimal(line["cost"]) for line in body["lines"]) == cost


def test_cli_statement_formats(
    cli_db: str, month: None, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["report", "statement", "--month", "2026-11", "--tenant", "acme", "--currency", "USD"]
    assert main([*args, "--format", "json"]) == 0
    total = json.loads(capsys.readouterr().out)["total"]
    assert total["requests"] == 4
    # JSON and CSV keep every digit: 1.35 of storage + 0.026878566503 of requests.
    assert (total["cost"], total["savings"]) == ("1.376878566503", "-1.343874945813")
    assert main([*args, "--format", "csv"]) == 0
    csv_total = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))[-1]
    assert (csv_total["group"], csv_total["cost"]) == ("TOTAL", "1.376878566503")
    assert main([*args, "--format", "table"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0] == "statement 2026-11 by team, in USD"
    # The table reads as the dashboard: money to the cent with its currency, counts with
    # thousands separators; columns are two spaces apart.
    header, cells = re.split(r"\s{2,}", table[1]), re.split(r"\s{2,}", table[-1])
    row = dict(zip(header, cells, strict=True))
    assert (row["group"], row["requests"]) == ("TOTAL", "4")
    assert (row["cost"], row["savings"]) == ("1.38 USD", "-1.34 USD")
    assert (row["nocache_cost"], row["write_premium"]) == ("0.03 USD", "0.01 USD")
    assert (row["cost_tool_fees"], row["effective_discount_pct"]) == ("0.00 USD", "-4071.9")
    assert main(["report", "statement", "--month", "2026-11", "--tenant", "acme"]) == 2
    assert "choose a reporting currency" in capsys.readouterr().err


def test_rollup_and_event_paths_agree(
    client: TestClient, engine: Engine, auth: dict[str, str], month: None
) -> None:
    from store.statement import usage_sums

    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    off_hour = [start.replace(microsecond=1)]  # forces the event path; segment 0 stays empty

    def merged(rows: Any) -> dict[Any, tuple[Any, ...]]:
        out: dict[Any, list[Any]] = {}
        for row in rows:
            values = [v for k, v in row._mapping.items() if k not in ("key", "currency", "segment")]
            key = (row.key, row.currency)
            out[key] = (
                [a + b for a, b in zip(out[key], values, strict=True)] if key in out else values
            )
        return {k: tuple(v) for k, v in out.items()}

    with engine.connect() as conn:
        tenant_id = conn.execute(text("SELECT id FROM tenants WHERE name = 'acme'")).scalar_one()
        for group in ("team", "provider", "model"):
            rolled = merged(usage_sums(conn, tenant_id, start, end, group, []))
            raw = merged(usage_sums(conn, tenant_id, start, end, group, off_hour))
            assert rolled == raw
