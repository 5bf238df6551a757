"""Budgets: month-to-date spend, projected month end, threshold status."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cachemeter.cli.main import main
from reports.budgets import budget_status
from store.tenants import find_tenant
from tests.factories import anthropic_record, tenant_with_key


@pytest.fixture
def auth(client: TestClient, engine: Engine) -> dict[str, str]:
    _, key = tenant_with_key(engine)
    headers = {"Authorization": f"Bearer {key}"}
    # Claude Sonnet 4.5: 10,000 plain input x $3 + 1,000 output x $15 = 45,000 -> $0.045 each.
    records = [
        anthropic_record(
            request_id=f"s{i}",
            plain=10_000,
            output=1_000,
            team="search",
            app="search-ui",
            occurred_at=f"2026-11-0{i + 1}T12:00:00Z",
        )
        for i in range(4)
    ]
    records.append(
        anthropic_record(
            request_id="old",
            plain=10_000,
            output=1_000,
            team="search",
            occurred_at="2026-10-31T12:00:00Z",
        )
    )
    assert (
        client.post("/v1/usage", json={"records": records}, headers=headers).json()["accepted"] == 5
    )
    return headers


def test_status_and_projection(client: TestClient, engine: Engine, auth: dict[str, str]) -> None:
    budgets_in = [("team", "search", "1.00"), ("app", "search-ui", "0.10")]
    for scope, name, amount in budgets_in:
        body = {"scope": scope, "name": name, "amount": amount}
        assert client.put("/v1/budgets", json=body, headers=auth).status_code == 200
    assert (
        client.put(
            "/v1/budgets",
            json={"scope": "app", "name": "x", "amount": "0.15", "threshold_pct": 50},
            headers=auth,
        ).status_code
        == 200
    )
    with engine.connect() as conn:
        tenant = find_tenant(conn, "acme")
        assert tenant is not None
        # 10 Nov 00:00 UTC: 9 of 30 days elapsed (30%).
        status = budget_status(conn, tenant.id, datetime(2026, 11, 10, tzinfo=UTC))
    assert status["elapsed_pct"] == 30.0
    budgets = {b["name"]: b for b in status["budgets"]}
    search = budgets["search"]
    assert search["month_to_date"] == "0.18"  # 4 x 0.045; October's request does not count
    # 0.18 / 0.3 = 0.60 projected: below 80% of 1.00 -> ok
    assert (search["projected_month_end"], search["status"]) == ("0.6", "ok")
    assert budgets["search-ui"]["status"] == "exceeded"  # 0.18 > 0.10
    assert budgets["x"]["month_to_date"] == "0"


def test_warning_when_projection_crosses_threshold(engine: Engine, auth: dict[str, str]) -> None:
    with engine.begin() as conn:
        from store.budgets import set_budget

        tenant = find_tenant(conn, "acme")
        assert tenant is not None
        set_budget(conn, tenant.id, "team", "search", Decimal("0.5"), "USD", Decimal(80))
        # 0.18 spent with 30% elapsed projects 0.60 >= 80% of 0.50 -> warning
        status = budget_status(conn, tenant.id, datetime(2026, 11, 10, tzinfo=UTC))
    assert status["budgets"][0]["status"] == "warning"


def test_budget_validation_and_removal(client: TestClient, auth: dict[str, str]) -> None:
    bad = client.put("/v1/budgets", json={"scope": "org", "name": "x", "amount": 1}, headers=auth)
    assert bad.status_code == 422 and "scope" in bad.text
    assert (
        client.put(
            "/v1/budgets", json={"scope": "team", "name": "x", "amount": -1}, headers=auth
        ).status_code
        == 422
    )
    assert client.delete("/v1/budgets/team/nobody", headers=auth).status_code == 404
    assert client.get("/v1/budgets?month=2026-11", headers=auth).json()["budgets"] == []


def test_cli_budgets(cli_db: str, auth: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["budgets", "set", "--team", "search", "--amount", "0.10", "--tenant", "acme"]) == 0
    assert main(["budgets", "status", "--month", "2026-11", "--tenant", "acme"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["budgets"][0]["status"] == "exceeded"  # 0.18 spent of 0.10
    assert (
        main(
            [
                "budgets",
                "set",
                "--team",
                "search",
                "--amount",
                "1",
                "--threshold-pct",
                "150",
                "--tenant",
                "acme",
            ]
        )
        == 2
    )
    assert main(["budgets", "remove", "--team", "search", "--tenant", "acme"]) == 0
    assert main(["budgets", "remove", "--team", "search", "--tenant", "acme"]) == 2
