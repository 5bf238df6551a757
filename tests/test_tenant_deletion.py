"""Deleting a tenant: the tables ingest writes carry no foreign key to tenants (migration
0020), so `cachemeter tenants delete` revokes the tenant's keys first and deletes their rows
itself; every row of theirs goes, nobody else's does."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from cachemeter.cli.main import main
from store.models import HOT_TABLES, Base
from tests.factories import GEMINI_CACHE, anthropic_record, tenant_with_key

TENANT_TABLES = sorted(
    t.name for t in Base.metadata.sorted_tables if "tenant_id" in t.c and t.name != "tenants"
)


def _rows(engine: Engine, tenant_id: int) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: conn.execute(
                text(f"SELECT count(*) FROM {t} WHERE tenant_id = :t"), {"t": tenant_id}
            ).scalar_one()
            for t in TENANT_TABLES
        }


def _load(client: TestClient, key: str, team: str) -> None:
    auth = {"Authorization": f"Bearer {key}"}
    records = [
        anthropic_record(
            request_id=f"{team}-{i}",
            read=2048,
            team=team,
            prompt_cache_key="k",
            ttft_ms=300.0,
            reported_cost="0.01",
        )
        for i in range(3)
    ]
    assert client.post("/v1/usage", json={"records": records}, headers=auth).json()["accepted"] == 3
    assert client.post("/v1/caches", json=GEMINI_CACHE, headers=auth).status_code == 200
    # A rejected record leaves its traces (ingest_rejections, ingest_outcomes_hourly).
    client.post("/v1/usage", json={"records": [{"usage": "bad"}, records[0]]}, headers=auth)
    budget = {"scope": "team", "name": team, "amount": "10"}
    assert client.put("/v1/budgets", json=budget, headers=auth).status_code == 200


def test_delete_removes_every_row_of_the_tenant_and_nobody_elses(
    cli_db: str, engine: Engine, client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    acme, acme_key = tenant_with_key(engine, "acme")
    bravo, bravo_key = tenant_with_key(engine, "bravo")
    _load(client, acme_key, "search")
    _load(client, bravo_key, "ads")
    before = _rows(engine, acme.id)
    # Every hot table and more hold acme's rows before.
    # Every hot table holds acme's rows before.
    assert all(before[t] > 0 for t in HOT_TABLES), before
    assert before["usage_events"] == 3 and before["cache_objects"] == 1
    bravo_before = _rows(engine, bravo.id)

    assert main(["tenants", "delete", "acme", "--confirm", "acme"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["keys_revoked"] == 1
    assert report["rows_deleted"]["usage_events"] == 3
    assert _rows(engine, acme.id) == dict.fromkeys(TENANT_TABLES, 0)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM tenants")).scalars().all() == ["bravo"]
    assert _rows(engine, bravo.id) == bravo_before
    # The deleted tenant's key no longer signs anything in.
    response = client.get("/v1/reports/summary", headers={"Authorization": f"Bearer {acme_key}"})
    assert response.status_code == 401


def test_delete_needs_the_name_twice_and_a_tenant(
    cli_db: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant_with_key(engine, "acme")
    assert main(["tenants", "delete", "acme", "--confirm", "acne"]) == 2
    assert "--confirm" in capsys.readouterr().err
    assert main(["tenants", "delete", "nobody", "--confirm", "nobody"]) == 2
    assert "no tenant named 'nobody'" in capsys.readouterr().err
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM tenants")).scalar_one() == 1


def test_only_the_hot_tables_lost_their_foreign_key(engine: Engine) -> None:
    with engine.connect() as conn:
        keyed = set(
            conn.execute(
                text(
                    "SELECT conrelid::regclass::text FROM pg_constraint WHERE contype = 'f'"
                    " AND confrelid = 'tenants'::regclass AND conparentid = 0"
                )
            ).scalars()
        )
    assert keyed.isdisjoint(HOT_TABLES)
    assert keyed == set(TENANT_TABLES) - set(HOT_TABLES)
