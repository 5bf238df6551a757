"""Tenancy and auth: scoped keys, rotation, admin routes, and tenant A learning nothing of
tenant B through any endpoint, with Postgres row-level security as the second line."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from store.models import ApiKey, Budget, UsageEvent
from store.tenancy import APP_ROLE, tenant_transaction
from tests.factories import anthropic_record, tenant_with_key

RANGE = "start=2026-11-01&end=2026-12-01"


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_each_scope_opens_only_its_routes(client: TestClient, engine: Engine) -> None:
    _, ingest = tenant_with_key(engine, scopes=["ingest"])
    _, read = tenant_with_key(engine, scopes=["read"])
    _, admin = tenant_with_key(engine, scopes=["admin"])
    budget = {"scope": "team", "name": "core", "amount": "100"}
    calls: dict[str, Callable[[dict[str, str]], Any]] = {
        "ingest": lambda h: client.post("/v1/usage", json=anthropic_record(), headers=h),
        "summary": lambda h: client.get(f"/v1/reports/summary?{RANGE}", headers=h),
        "statement": lambda h: client.get("/v1/reports/statement?month=2026-11", headers=h),
        "regressions": lambda h: client.get("/v1/regressions", headers=h),
        "rejections": lambda h: client.get(f"/v1/ingest/rejections?{RANGE}", headers=h),
        "outcomes": lambda h: client.get(f"/v1/ingest/outcomes?{RANGE}", headers=h),
        "focus": lambda h: client.get("/v1/exports/focus?month=2026-11", headers=h),
        "prices": lambda h: client.get("/v1/prices", headers=h),
        "budget-write": lambda h: client.put("/v1/budgets", json=budget, headers=h),
        "keys": lambda h: client.get("/v1/keys", headers=h),
    }
    allowed = {
        ingest: {"ingest"},
        read: {"summary", "statement", "regressions", "rejections", "outcomes", "focus", "prices"},
        admin: {"budget-write", "keys"},
    }
    for key, routes in allowed.items():
        for route, call in calls.items():
            response = call(_bearer(key))
            if route in routes:
                assert response.status_code == 200, (route, response.text)
            else:
                assert response.status_code == 403, (route, response.status_code)
                assert "scope" in response.json()["detail"]


def test_keys_are_stored_hashed_shown_once_and_listed_by_prefix(
    client: TestClient, engine: Engine
) -> None:
    _, admin = tenant_with_key(engine, scopes=["admin"])
    created = client.post(
        "/v1/keys", json={"name": "ci", "scopes": ["ingest"]}, headers=_bearer(admin)
    )
    assert created.status_code == 201
    key = created.json()["key"]
    with engine.connect() as conn:
        stored = conn.execute(select(ApiKey.key_hash, ApiKey.prefix, ApiKey.scopes)).all()
    assert all(key not in row.key_hash for row in stored)
    assert ("ingest",) in {tuple(row.scopes) for row in stored}
    listing = client.get("/v1/keys", headers=_bearer(admin))
    assert key not in listing.text
    assert {k["prefix"]: k["scopes"] for k in listing.json()["keys"]}[key[:10]] == ["ingest"]
    assert (
        client.post("/v1/usage", json=anthropic_record(), headers=_bearer(key)).status_code == 200
    )
    bad = client.post("/v1/keys", json={"scopes": ["root"]}, headers=_bearer(admin))
    assert bad.status_code == 422 and "root" in bad.text and "scopes" in bad.text


def test_rotation_keeps_the_old_key_for_its_grace_then_revocation_is_immediate(
    client: TestClient, engine: Engine
) -> None:
    _, admin = tenant_with_key(engine, scopes=["admin", "ingest"])
    rotated = client.post(
        f"/v1/keys/{admin[:10]}/rotate", json={"grace_hours": 1}, headers=_bearer(admin)
    )
    assert rotated.status_code == 201
    new = rotated.json()["key"]
    assert rotated.json()["scopes"] == ["ingest", "admin"]
    # Both work during the grace period: clients switch over without downtime.
    for key in (admin, new):
        assert client.get("/v1/keys", headers=_bearer(key)).status_code == 200
    # Once the grace period is over the old key is refused.
    with engine.begin() as conn:
        conn.execute(
            update(ApiKey)
            .where(ApiKey.prefix == admin[:10])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert client.get("/v1/keys", headers=_bearer(admin)).status_code == 401
    assert client.get("/v1/keys", headers=_bearer(new)).status_code == 200
    assert client.delete(f"/v1/keys/{new[:10]}", headers=_bearer(new)).status_code == 200
    assert client.get("/v1/keys", headers=_bearer(new)).status_code == 401


def test_admin_routes_reach_only_the_callers_tenant(client: TestClient, engine: Engine) -> None:
    _, a_admin = tenant_with_key(engine, "acme", scopes=["admin", "ingest", "read"])
    _, b_key = tenant_with_key(engine, "bravo", scopes=["ingest", "read"])
    # A cannot revoke or rotate B's key, even knowing its prefix.
    assert client.delete(f"/v1/keys/{b_key[:10]}", headers=_bearer(a_admin)).status_code == 404
    rotate = client.post(f"/v1/keys/{b_key[:10]}/rotate", headers=_bearer(a_admin))
    assert rotate.status_code == 404
    assert client.get(f"/v1/reports/summary?{RANGE}", headers=_bearer(b_key)).status_code == 200
    for key in (a_admin, b_key):
        assert (
            client.post("/v1/usage", json=anthropic_record(), headers=_bearer(key)).json()[
                "accepted"
            ]
            == 1
        )
    # Negotiated prices are the caller's own; naming another tenant is refused.
    price = {"provider": "anthropic", "model": "claude-sonnet-4-5", "discount_pct": "50"}
    foreign = client.post("/v1/prices", json={**price, "tenant": "bravo"}, headers=_bearer(a_admin))
    assert foreign.status_code == 403
    assert client.post("/v1/prices", json=price, headers=_bearer(a_admin)).status_code == 201
    # Re-pricing applies A's negotiated 50% to A's events only.
    # Sonnet 4.5 list: 100 x $3 + 10 x $15 per MTok = $0.00045; half is $0.000225.
    report = client.post(
        "/v1/reprice",
        json={"start": "2026-11-01T00:00:00Z", "end": "2026-12-01T00:00:00Z", "reason": "deal"},
        headers=_bearer(a_admin),
    )
    assert report.status_code == 200, report.text
    assert report.json()["events_changed"] == 1
    with engine.connect() as conn:
        costs: dict[str, Decimal] = dict(
            conn.execute(
                text(
                    "SELECT t.name, e.cost FROM usage_events e JOIN tenants t ON t.id = e.tenant_id"
                )
            ).all()
        )
    assert costs == {"acme": Decimal("0.000225"), "bravo": Decimal("0.00045")}
    prices = client.get("/v1/prices", headers=_bearer(b_key)).json()["prices"]
    assert prices == []  # B sees the shared catalogue (empty here), not A's deal


def _seed_two_tenants(client: TestClient, engine: Engine) -> tuple[str, str]:
    _, a_key = tenant_with_key(engine, "acme")
    _, b_key = tenant_with_key(engine, "bravo")
    a_records = [
        anthropic_record(request_id=f"shared-{i}", read=4000 * (i % 2), app="a-app", team="a-team")
        for i in range(6)
    ]
    b_records = [
        anthropic_record(
            request_id=f"shared-{i}",
            write=5000,
            model="claude-opus-4-5",
            app="bravo-secret-app",
            team="bravo-secret-team",
            environment="bravo-env",
            prompt_cache_key="bravo-secret-prefix",
            # No timestamp holds it (seconds stop at 59): "1.5" matched "…:51.5…".
            reported_cost="97.531",
        )
        for i in range(9)
    ]
    for key, records in ((a_key, a_records), (b_key, b_records)):
        result = client.post("/v1/usage", json={"records": records}, headers=_bearer(key))
        # The same request ids in two tenants are two requests: no duplicate to infer from.
        assert result.json()["accepted"] == len(records)
    # A refused record of B's, whose kept error names a field of B's own making.
    refused = {**anthropic_record(request_id="x"), "bravo_secret_field": 1}
    assert client.post("/v1/usage", json=refused, headers=_bearer(b_key)).status_code == 422
    budget = {"scope": "team", "name": "bravo-secret-team", "amount": "10"}
    assert client.put("/v1/budgets", json=budget, headers=_bearer(b_key)).status_code == 200
    return a_key, b_key


def test_tenant_a_learns_nothing_of_tenant_b_through_any_endpoint(
    client: TestClient, engine: Engine
) -> None:
    a_key, _ = _seed_two_tenants(client, engine)
    secrets = ("bravo", "claude-opus-4-5", "97.531")
    urls = [
        f"/v1/reports/summary?{RANGE}&group_by={g}&format={f}"
        for g in ("provider", "model", "app", "team", "environment", "day")
        for f in ("json", "csv")
    ]
    urls += [
        f"/v1/reports/statement?month=2026-11&group_by={g}&format={f}"
        for g in ("team", "app", "model", "provider", "environment")
        for f in ("json", "csv")
    ]
    urls += [
        f"/v1/reports/reconciliation?{RANGE}",
        f"/v1/reports/cache-economics?{RANGE}",
        # Every finding shown, so nothing of the other tenant's could hide under a threshold.
        f"/v1/reports/advice?{RANGE}&min_saving=0&min_requests=1",
        f"/v1/regressions?{RANGE}",
        "/v1/ingest/rejections?start=2000-01-01&end=2100-01-01",
        "/v1/ingest/outcomes?start=2000-01-01&end=2100-01-01&bucket=day",
        "/v1/exports/focus?month=2026-11&period=hour",
        "/v1/budgets?month=2026-11",
        "/v1/prices",
        "/v1/keys",
    ]
    for url in urls:
        response = client.get(url, headers=_bearer(a_key))
        assert response.status_code == 200, (url, response.text)
        for secret in secrets:
            assert secret not in response.text, (url, secret)
    # A's totals are A's alone: 6 requests.
    summary = client.get(f"/v1/reports/summary?{RANGE}", headers=_bearer(a_key)).json()
    assert sum(g["requests"] for g in summary["groups"]) == 6
    statement = client.get("/v1/reports/statement?month=2026-11", headers=_bearer(a_key)).json()
    assert statement["total"]["requests"] == 6
    # B's budget cannot be removed (or probed) with A's key.
    gone = client.delete("/v1/budgets/team/bravo-secret-team", headers=_bearer(a_key))
    assert gone.status_code == 404


def test_metrics_name_no_tenant_and_can_require_their_own_token(
    engine: Engine, client: TestClient
) -> None:
    from prometheus_client import CollectorRegistry

    from cachemeter.config import Settings
    from cachemeter.server import create_app

    a_key, _ = _seed_two_tenants(client, engine)
    # /metrics is the operator's (all tenants' traffic by app, team and model) but no label
    # is a tenant; with a token configured, no tenant key can read it.
    exposition = client.get("/metrics").text
    assert 'app="bravo-secret-app"' in exposition
    assert "acme" not in exposition and '"bravo"' not in exposition
    app = create_app(
        Settings(metrics_token="scrape-token", regression_interval_seconds=0),
        engine=engine,
        registry=CollectorRegistry(),
    )
    with TestClient(app) as guarded:
        assert guarded.get("/metrics").status_code == 401
        assert guarded.get("/metrics", headers=_bearer(a_key)).status_code == 401
        scraped = guarded.get("/metrics", headers=_bearer("scrape-token"))
        assert scraped.status_code == 200 and "cachemeter_" in scraped.text


# Every table holding tenant rows, and how its tenant is named.
def _tenant_tables(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT c.relname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE a.attname = 'tenant_id' AND n.nspname = 'public'"
                    " AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1"
                )
            ).scalars()
        )


def test_row_level_security_hides_other_tenants_from_the_application_role(
    client: TestClient, engine: Engine
) -> None:
    _seed_two_tenants(client, engine)
    tables = _tenant_tables(engine)
    assert {"usage_events", "usage_hourly", "api_keys", "budgets", "prices"} <= set(tables)
    with engine.connect() as conn:
        a_id, b_id = conn.execute(text("SELECT id FROM tenants ORDER BY name")).scalars().all()
        unprotected = conn.execute(
            text("SELECT relname FROM pg_class WHERE relname = ANY(:t) AND NOT relrowsecurity"),
            {"t": [*tables, "tenants"]},
        ).all()
        assert unprotected == []
        owner_rows = conn.execute(
            select(UsageEvent.tenant_id).distinct().order_by(UsageEvent.tenant_id)
        ).scalars()
        assert list(owner_rows) == [a_id, b_id]
    with tenant_transaction(engine, a_id) as conn:
        assert conn.execute(text("SELECT current_user")).scalar_one() == APP_ROLE
        # Queries with no tenant filter at all still see only A.
        for table in tables:
            foreign = conn.execute(
                text(f"SELECT count(*) FROM {table} WHERE tenant_id IS DISTINCT FROM :a"),
                {"a": a_id},
            ).scalar_one()
            shared = table in ("prices", "reprice_runs")
            assert foreign == 0 or shared, table
        assert conn.execute(text("SELECT count(*) FROM usage_events")).scalar_one() == 6
        assert conn.execute(text("SELECT array_agg(name) FROM tenants")).scalar_one() == ["acme"]
        # The monthly partitions are not a way around the policy.
        with pytest.raises(DBAPIError, match="permission denied"), conn.begin_nested():
            conn.execute(text("SELECT count(*) FROM usage_events_p2026_11"))
    # Writing a row for another tenant is refused by the policy's check.
    with (
        pytest.raises(DBAPIError, match="row-level security"),
        tenant_transaction(engine, a_id) as conn,
    ):
        conn.execute(
            insert(Budget).values(tenant_id=b_id, scope="team", name="x", amount=1, currency="USD")
        )


def test_dashboard_sign_in_needs_the_read_scope(client: TestClient, engine: Engine) -> None:
    _, ingest_only = tenant_with_key(engine, scopes=["ingest"])
    _, reader = tenant_with_key(engine, scopes=["read"])
    refused = client.post("/dashboard/login", data={"key": ingest_only, "next": "/dashboard/"})
    assert refused.status_code == 403 and "read scope" in refused.text
    accepted = client.post(
        "/dashboard/login",
        data={"key": reader, "next": "/dashboard/"},
        follow_redirects=False,
    )
    assert accepted.status_code == 302
