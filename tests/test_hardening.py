"""Input and HTTP hardening: body size and JSON depth limits, security headers, CORS closed
by default, and no secrets in the logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, func, select, text

from cachemeter.config import Settings
from cachemeter.server import create_app
from store.models import UsageEvent
from tests.factories import anthropic_record


def _client(engine: Engine, **settings: object) -> TestClient:
    app = create_app(
        Settings(secret_key="s", regression_interval_seconds=0, **settings),  # type: ignore[arg-type]
        engine=engine,
        registry=CollectorRegistry(),
    )
    return TestClient(app)


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(UsageEvent)).scalar_one())


def test_bodies_over_the_limit_are_413_whether_declared_or_streamed(
    engine: Engine, auth: dict[str, str]
) -> None:
    with _client(engine, max_body_bytes=4096) as client:
        big = b'{"records": [' + b",".join([b'{"usage": {"input_tokens": 1}}'] * 400) + b"]}"
        declared = client.post(
            "/v1/usage", content=big, headers={**auth, "Content-Type": "application/json"}
        )
        assert declared.status_code == 413
        assert "CACHEMETER_MAX_BODY_BYTES" in declared.json()["detail"]

        def chunks() -> Iterator[bytes]:
            for start in range(0, len(big), 1000):
                yield big[start : start + 1000]

        streamed = client.post(
            "/v1/usage", content=chunks(), headers={**auth, "Content-Type": "application/json"}
        )
        assert streamed.status_code == 413
        small = client.post("/v1/usage", json=anthropic_record(), headers=auth)
        assert small.status_code == 200
    assert _count(engine) == 1


def test_json_nested_too_deep_is_refused_naming_the_limit(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    record = anthropic_record()
    deep: dict[str, object] = {"x": 1}
    for _ in range(40):
        deep = {"x": deep}
    record["metadata_blob"] = deep
    response = client.post("/v1/usage", json=record, headers=auth)
    assert response.status_code == 422
    assert "record: JSON nested deeper than 32 levels" in response.text
    hostile = "[" * 100_000 + "]" * 100_000
    response = client.post(
        "/v1/usage", content=hostile, headers={**auth, "Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert _count(engine) == 0


def test_security_headers_and_csp_on_the_dashboard(client: TestClient) -> None:
    page = client.get("/dashboard/login")
    assert page.status_code == 200
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    api = client.get("/healthz")
    assert api.headers["x-content-type-options"] == "nosniff"
    assert (
        page.cookies.get("session") is None
        or "httponly" in page.headers.get("set-cookie", "").lower()
    )


def test_cors_is_closed_unless_origins_are_configured(engine: Engine) -> None:
    preflight = {
        "Origin": "https://evil.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization",
    }
    with _client(engine) as closed:
        response = closed.options("/v1/usage", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
        assert (
            "access-control-allow-origin"
            not in closed.get("/healthz", headers={"Origin": "https://evil.example"}).headers
        )
    with _client(engine, cors_origins=["https://app.example"]) as opened:
        allowed = opened.options(
            "/v1/usage", headers={**preflight, "Origin": "https://app.example"}
        )
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        refused = opened.options("/v1/usage", headers=preflight)
        assert "access-control-allow-origin" not in refused.headers


def test_no_key_or_password_reaches_the_logs(
    client: TestClient, auth: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = auth["Authorization"].removeprefix("Bearer ")
    client.post("/v1/usage", json=anthropic_record(), headers=auth)
    client.post("/v1/usage", json=anthropic_record(), headers={"Authorization": "Bearer cm_wrong"})
    client.post("/dashboard/login", data={"key": key})
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert key not in logged and "cm_wrong" not in logged


def test_the_dashboard_server_alone_has_probes_and_headers(engine: Engine) -> None:
    from cachemeter.wsgi import dashboard_asgi

    with TestClient(dashboard_asgi(engine)) as alone:
        assert alone.get("/healthz").json() == {"status": "ok"}
        assert alone.get("/readyz").status_code == 200
        login = alone.get("/dashboard/login")
        assert (
            login.status_code == 200
            and "frame-ancestors" in login.headers["content-security-policy"]
        )
        assert alone.get("/dashboard/overview", follow_redirects=False).status_code == 302


NUL_BODIES = [
    ("post", "/v1/usage", {**anthropic_record(), "app": "a\x00b"}, "app"),
    ("post", "/v1/usage", {**anthropic_record(), "tags": {"k": "v\x00"}}, "tags"),
    ("post", "/v1/caches", {"name": "c\x00", "model": "gemini-2.5-pro", "token_count": 5}, "name"),
    ("put", "/v1/budgets", {"scope": "team", "name": "t\x00", "amount": "10"}, "name"),
    ("post", "/v1/keys", {"name": "k\x00"}, "name"),
    ("post", "/v1/prices", {"provider": "openai", "model": "m\x00", "discount_pct": "5"}, "model"),
    (
        "post",
        "/v1/reprice",
        {"start": "2026-11-01T00:00:00Z", "end": "2026-12-01T00:00:00Z", "reason": "r\x00"},
        "reason",
    ),
]
WRITTEN = ("usage_events", "cache_objects", "budgets", "api_keys", "prices", "reprice_runs")


@pytest.mark.parametrize(("method", "path", "body", "field"), NUL_BODIES)
def test_nul_characters_are_refused_naming_the_field_and_nothing_is_stored(
    client: TestClient,
    engine: Engine,
    auth: dict[str, str],
    method: str,
    path: str,
    body: dict[str, object],
    field: str,
) -> None:
    """PostgreSQL text cannot hold NUL: every body that names something refuses it with 422
    (a 500 from the database before), and writes nothing."""

    def counts() -> list[int]:
        with engine.connect() as conn:
            return [
                int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
                for table in WRITTEN
            ]

    before = counts()
    response = client.request(method, path, json=body, headers=auth)
    assert response.status_code == 422, response.text
    assert field in response.text and "NUL" in response.text
    assert counts() == before
