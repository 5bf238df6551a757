"""`cachemeter export focus` and GET /v1/exports/focus: a month as FOCUS 1.0 rows that the
FinOps Foundation's validator passes, whose BilledCost adds up to the statement's total and
whose token quantities to its token totals; negotiated prices with their list-price layer,
storage, both cache-write TTLs and FX-rate periods."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from billing.catalogue import PriceSpec
from cachemeter.cli.demo import demo_records
from cachemeter.cli.main import main
from reports.focus import COLUMNS
from store.prices import add_price
from tests.factories import (
    GEMINI_CACHE,
    add_stepfun_in_cny,
    anthropic_record,
    stepfun_record,
    tenant_with_key,
    two_ttl_write,
)
from tests.test_focus import validate

TOKEN_PARTS = {
    "uncached_input": "uncached_input_tokens",
    "cache_read": "cache_read_tokens",
    "cache_write_5m": "cache_write_5m_tokens",
    "cache_write_1h": "cache_write_1h_tokens",
    "output": "output_tokens",
}


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8")))


def _statement(
    client: TestClient, auth: dict[str, str], currency: str = "", group_by: str = "team"
) -> dict[str, Any]:
    query = f"&group_by={group_by}" + (f"&currency={currency}" if currency else "")
    response = client.get(f"/v1/reports/statement?month=2026-11{query}", headers=auth)
    assert response.status_code == 200, response.text
    return dict(response.json()["total"])


def _export(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> Path:
    path = tmp_path / "focus.csv"
    args = ["export", "focus", "--month", "2026-11", "--tenant", "acme", "--quiet"]
    assert main([*args, "--output", str(path), *extra]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == len(_rows(path))
    return path


def test_the_demo_month(
    cli_db: str,
    client: TestClient,
    auth: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    records = demo_records(datetime(2026, 11, 24, tzinfo=UTC), days=3)
    for i in range(0, len(records), 500):
        client.post("/v1/usage", json={"records": records[i : i + 500]}, headers=auth)
    path = _export(tmp_path, capsys)
    result = validate(path)
    assert "Validation succeeded" in result.stdout, result.stdout
    rows = _rows(path)
    total = _statement(client, auth)
    # Every charge of the month, to the last stored digit.
    assert sum(Decimal(r["BilledCost"]) for r in rows) == Decimal(total["cost"])
    assert sum(Decimal(r["x_NoCacheCost"]) for r in rows) == Decimal(total["nocache_cost"])
    quantities: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        quantities[r["x_CachePart"]] += Decimal(r["ConsumedQuantity"])
    for part, tokens in TOKEN_PARTS.items():
        assert quantities[part] == total[tokens], part
    # One SKU per (provider, model, part); each row one day.
    assert all(
        r["SkuId"].endswith(
            (
                "/input",
                "/cache-read",
                "/cache-write-5m",
                "/cache-write-1h",
                "/output",
                "/tool-fees",
                "/cache-storage",
            )
        )
        for r in rows
    )
    assert {r["ChargePeriodStart"][11:] for r in rows} == {"00:00:00Z"}
    assert {r["BillingPeriodStart"] for r in rows} == {"2026-11-01T00:00:00Z"}


@pytest.fixture
def mixed_month(engine: Engine, client: TestClient, auth: dict[str, str]) -> None:
    """Claude Sonnet 4.5 at acme's negotiated 20% off, Step-1o in CNY whose USD rate changes
    on the 15th, and a Gemini cache's storage."""
    with engine.begin() as conn:
        add_stepfun_in_cny(conn)
        add_price(
            conn,
            PriceSpec(
                provider="anthropic",
                model="claude-sonnet-4-5",
                discount_pct=Decimal(20),
                tenant="acme",
                note="acme's contract",
            ),
        )
    records = [
        anthropic_record(
            request_id="read",
            plain=1000,
            read=4000,
            output=100,
            team="search",
            occurred_at="2026-11-10T10:00:00Z",
            prompt_cache_key="search-v2",
        ),
        two_ttl_write(team="search", occurred_at="2026-11-20T10:00:00Z"),
        # Three days of Step-1o at one rate, one after it changes.
        stepfun_record("cny-1", "2026-11-10T00:00:00Z"),
        stepfun_record("cny-3", "2026-11-11T00:00:00Z"),
        stepfun_record("cny-4", "2026-11-12T00:00:00Z"),
        stepfun_record("cny-2", "2026-11-20T00:00:00Z"),
    ]
    assert client.post("/v1/usage", json={"records": records}, headers=auth).json()["accepted"] == 6
    assert client.post("/v1/caches", json=GEMINI_CACHE, headers=auth).json()["stored"] == 1


def test_a_month_of_negotiated_prices_storage_both_ttls_and_two_currencies(
    cli_db: str,
    mixed_month: None,
    client: TestClient,
    auth: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _export(tmp_path, capsys, "--currency", "USD")
    result = validate(path)
    assert "Validation succeeded" in result.stdout, result.stdout
    rows = _rows(path)
    by = {(r["x_Model"], r["x_CachePart"], r["ChargePeriodStart"][:10]): r for r in rows}
    # Claude Sonnet 4.5 list per MTok: $3 input, $0.30 read, $3.75 5m write, $6 1h write,
    # $15 output; acme pays 80% of it.
    read = by[("claude-sonnet-4-5", "cache_read", "2026-11-10")]
    assert (read["ListCost"], read["ContractedCost"], read["BilledCost"]) == (
        "0.0012",  # 4,000 x $0.30
        "0.00096",  # 4,000 x $0.24
        "0.00096",
    )
    assert (read["ListUnitPrice"], read["ContractedUnitPrice"]) == ("0.3", "0.24")
    assert read["SkuPriceId"].startswith("tenant:")
    # The cache key its requests were sent with is a tag; the write's were sent with none.
    assert json.loads(read["Tags"]) == {"prompt_cache_key": "search-v2", "team": "search"}
    assert (
        "prompt_cache_key" not in by[("claude-sonnet-4-5", "cache_write_1h", "2026-11-20")]["Tags"]
    )
    write_1h = by[("claude-sonnet-4-5", "cache_write_1h", "2026-11-20")]
    assert (write_1h["ConsumedQuantity"], write_1h["ListCost"], write_1h["BilledCost"]) == (
        "1000.0",
        "0.006",  # 1,000 x $6
        "0.0048",  # 1,000 x $4.80
    )
    write_5m = by[("claude-sonnet-4-5", "cache_write_5m", "2026-11-20")]
    assert (write_5m["ListCost"], write_5m["BilledCost"]) == ("0.01125", "0.009")
    # Step-1o: 79 uncached x 5 + 512 read x 1 + 120 out x 20 CNY per MTok, at 7.25 CNY per
    # USD before the 15th and 7.00 after: output 0.0024 CNY is 0.000331034483 then
    # 0.000342857143 USD (12 places, half even).
    assert by[("step-1o-turbo-vision", "output", "2026-11-10")]["BilledCost"] == "0.000331034483"
    assert by[("step-1o-turbo-vision", "output", "2026-11-20")]["BilledCost"] == "0.000342857143"
    # 100,000 tokens held 3 hours: 0.3 MTok-hours at $4.50.
    storage = by[("gemini-2.5-pro", "storage", "2026-11-05")]
    assert (storage["ConsumedQuantity"], storage["BilledCost"], storage["PricingUnit"]) == (
        "0.3",
        "1.35",
        "1M Token-hours",
    )
    total = _statement(client, auth, "USD")
    # Converted sums are shared out, not rounded row by row: the three days of output before
    # the 15th, 0.0024 CNY each, are 0.000331034483 USD rounded apart, but 0.0072 CNY is
    # 0.000993103448 USD, so the third day's row is 0.000331034482. The rows add up to the
    # statement's total exactly, and so does every grouping of the statement.
    assert by[("step-1o-turbo-vision", "output", "2026-11-12")]["BilledCost"] == ("0.000331034482")
    billed = sum(Decimal(r["BilledCost"]) for r in rows)
    assert billed == Decimal(total["cost"])
    assert sum(Decimal(r["x_NoCacheCost"]) for r in rows) == Decimal(total["nocache_cost"])
    for group_by in ("app", "model", "provider", "environment"):
        assert _statement(client, auth, "USD", group_by)["cost"] == total["cost"]
    for part, tokens in TOKEN_PARTS.items():
        assert (
            sum(Decimal(r["ConsumedQuantity"]) for r in rows if r["x_CachePart"] == part)
            == (total[tokens])
        )


def test_mixed_currencies_need_a_billing_currency(
    cli_db: str, mixed_month: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "focus.csv"
    args = ["export", "focus", "--month", "2026-11", "--tenant", "acme", "--output", str(path)]
    assert main(args) == 2
    assert "charges are in CNY, USD: choose a reporting currency" in capsys.readouterr().err
    assert not path.exists() and not list(tmp_path.iterdir())


def test_the_api_streams_the_same_rows(
    cli_db: str,
    mixed_month: None,
    engine: Engine,
    client: TestClient,
    auth: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    response = client.get("/v1/exports/focus?month=2026-11&currency=USD", headers=auth)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="focus-2026-11.csv"' in response.headers["content-disposition"]
    streamed = list(csv.DictReader(response.text.splitlines()))
    assert streamed == _rows(_export(tmp_path, capsys, "--currency", "USD"))
    # What cannot be exported is a 422 naming why, before any row.
    mixed = client.get("/v1/exports/focus?month=2026-11", headers=auth)
    assert mixed.status_code == 422 and "choose a reporting currency" in mixed.text
    assert (
        client.get("/v1/exports/focus?month=2026-11&currency=EUR", headers=auth).status_code == 422
    )
    assert client.get("/v1/exports/focus?month=2026-13", headers=auth).status_code == 422
    # Another tenant's export has the header only.
    _, other = tenant_with_key(engine, "globex")
    alone = client.get(
        "/v1/exports/focus?month=2026-11", headers={"Authorization": f"Bearer {other}"}
    )
    assert alone.status_code == 200 and alone.text.strip() == ",".join(COLUMNS)
