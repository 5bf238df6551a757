"""Dashboard sessions are bound to the API key that signed in and kept server-side: a revoked,
rotated-out or expired key signs its sessions out, sign-out holds against a replayed cookie,
idle and absolute limits end sessions, and the cookie is Secure over HTTPS."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, select, update

from cachemeter.config import Settings
from cachemeter.server import create_app
from store.models import ApiKey, DashboardSession
from tests.dashboard_requests import CALLBACK, request_for
from tests.factories import dashboard_cookie_signer, tenant_with_key

SECRET = "test-secret"


def route_body() -> dict[str, Any]:
    """The page router's request (it reads the tenant's filter options)."""
    return request_for("..page.children...filters.children..")


def _app_client(engine: Engine, base_url: str = "http://testserver", **settings: Any) -> TestClient:
    app = create_app(
        Settings(secret_key=SECRET, regression_interval_seconds=0, **settings),
        engine=engine,
        registry=CollectorRegistry(),
    )
    return TestClient(app, base_url=base_url)


@pytest.fixture
def signed_in(client: TestClient, engine: Engine) -> Iterator[tuple[TestClient, str, str]]:
    """A client signed in to the dashboard with a read key; also an admin key of the tenant."""
    _, reader = tenant_with_key(engine, scopes=["read"])
    _, admin = tenant_with_key(engine, scopes=["admin"])
    response = client.post("/dashboard/login", data={"key": reader}, follow_redirects=False)
    assert response.status_code == 302
    assert client.post(CALLBACK, json=route_body()).status_code == 200
    yield client, reader, admin


def _signed_out(client: TestClient) -> None:
    callback = client.post(CALLBACK, json=route_body())
    assert callback.status_code == 401 and callback.json() == {"error": "not signed in"}
    page = client.get("/dashboard/overview", follow_redirects=False)
    assert page.status_code == 302 and "/dashboard/login" in page.headers["location"]


def _set_session(engine: Engine, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(update(DashboardSession).values(**values))


def test_a_revoked_key_signs_its_session_out(
    signed_in: tuple[TestClient, str, str],
) -> None:
    client, reader, admin = signed_in
    revoked = client.delete(f"/v1/keys/{reader[:10]}", headers={"Authorization": f"Bearer {admin}"})
    assert revoked.status_code == 200
    _signed_out(client)


def test_a_key_rotated_with_no_grace_signs_its_session_out(
    signed_in: tuple[TestClient, str, str],
) -> None:
    client, reader, admin = signed_in
    rotated = client.post(
        f"/v1/keys/{reader[:10]}/rotate",
        json={"grace_hours": 0},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert rotated.status_code == 201
    _signed_out(client)


def test_a_rotated_key_keeps_its_session_until_the_grace_ends(
    signed_in: tuple[TestClient, str, str], engine: Engine
) -> None:
    client, reader, admin = signed_in
    client.post(
        f"/v1/keys/{reader[:10]}/rotate",
        json={"grace_hours": 24},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert client.post(CALLBACK, json=route_body()).status_code == 200
    with engine.begin() as conn:  # the grace period is over
        conn.execute(
            update(ApiKey)
            .where(ApiKey.prefix == reader[:10])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    _signed_out(client)


def test_sign_out_holds_against_a_replayed_cookie(
    signed_in: tuple[TestClient, str, str],
) -> None:
    client, _, _ = signed_in
    cookie = client.cookies["session"]
    assert client.get("/dashboard/logout", follow_redirects=False).status_code == 302
    client.cookies.clear()
    client.cookies.set("session", cookie)
    _signed_out(client)


def test_idle_sessions_end_and_use_refreshes_them_at_most_once_a_minute(
    signed_in: tuple[TestClient, str, str], engine: Engine
) -> None:
    client, _, _ = signed_in
    now = datetime.now(UTC)

    def last_seen() -> datetime:
        with engine.connect() as conn:
            return conn.execute(select(DashboardSession.last_seen_at)).scalar_one()

    _set_session(engine, last_seen_at=now - timedelta(seconds=30))
    assert client.post(CALLBACK, json=route_body()).status_code == 200
    assert last_seen() == now - timedelta(seconds=30)  # no write for a recent session
    _set_session(engine, last_seen_at=now - timedelta(hours=11, minutes=59))
    assert client.post(CALLBACK, json=route_body()).status_code == 200
    assert last_seen() >= now  # used: the idle clock starts again
    _set_session(engine, last_seen_at=now - timedelta(hours=12, minutes=1))
    _signed_out(client)


def test_idle_and_absolute_limits_follow_the_settings(engine: Engine) -> None:
    _, key = tenant_with_key(engine, scopes=["read"])
    with _app_client(engine, session_idle_hours=1, session_lifetime_days=1) as client:
        client.post("/dashboard/login", data={"key": key})
        now = datetime.now(UTC)
        _set_session(engine, last_seen_at=now - timedelta(minutes=59))
        assert client.post(CALLBACK, json=route_body()).status_code == 200
        _set_session(engine, last_seen_at=now - timedelta(minutes=61))
        _signed_out(client)
        client.post("/dashboard/login", data={"key": key})
        # In constant use, yet signed in longer ago than the lifetime.
        _set_session(engine, created_at=now - timedelta(days=1, minutes=1), last_seen_at=now)
        _signed_out(client)


def test_sessions_end_seven_days_after_sign_in_by_default(
    signed_in: tuple[TestClient, str, str], engine: Engine
) -> None:
    client, _, _ = signed_in
    now = datetime.now(UTC)
    _set_session(engine, created_at=now - timedelta(days=6, hours=23), last_seen_at=now)
    assert client.post(CALLBACK, json=route_body()).status_code == 200
    _set_session(engine, created_at=now - timedelta(days=7, minutes=1), last_seen_at=now)
    _signed_out(client)


def test_a_validly_signed_cookie_without_a_live_session_reads_nothing(
    signed_in: tuple[TestClient, str, str], engine: Engine
) -> None:
    client, _, _ = signed_in
    other, _ = tenant_with_key(engine, name="globex", scopes=["read"])
    ours = dashboard_cookie_signer(SECRET).loads(client.cookies["session"])
    assert set(ours) == {"tenant_id", "sid"}
    for values in (
        # The cookie of before sessions were kept server-side (the tenant alone).
        {"tenant_id": ours["tenant_id"], "tenant": "acme"},
        # Our token under another tenant's id finds no session of that tenant.
        {"tenant_id": other.id, "sid": ours["sid"]},
        {"tenant_id": ours["tenant_id"], "sid": "guessed"},
    ):
        client.cookies.clear()
        client.cookies.set("session", dashboard_cookie_signer(SECRET).dumps(values))
        _signed_out(client)


def _session_cookie(response: Any) -> str:
    cookies = [c for c in response.headers.get_list("set-cookie") if c.startswith("session=")]
    assert len(cookies) == 1, response.headers
    return str(cookies[0]).lower()


def test_the_cookie_is_secure_over_https_or_when_forced(engine: Engine) -> None:
    _, key = tenant_with_key(engine, scopes=["read"])
    with _app_client(engine) as plain:
        # A client-sent X-Forwarded-Proto is not trusted by the app (only a server told to
        # trust the proxy rewrites the scheme).
        cookie = _session_cookie(
            plain.post(
                "/dashboard/login",
                data={"key": key},
                headers={"X-Forwarded-Proto": "https"},
                follow_redirects=False,
            )
        )
        assert "secure" not in cookie.split("; ")
        assert {"httponly", "samesite=lax"} <= set(cookie.split("; "))
    with _app_client(engine, base_url="https://testserver") as https:
        cookie = _session_cookie(
            https.post("/dashboard/login", data={"key": key}, follow_redirects=False)
        )
        assert {"secure", "httponly", "samesite=lax"} <= set(cookie.split("; "))
    with _app_client(engine, session_cookie_secure=True) as forced:
        cookie = _session_cookie(
            forced.post("/dashboard/login", data={"key": key}, follow_redirects=False)
        )
        assert {"secure", "httponly", "samesite=lax"} <= set(cookie.split("; "))
