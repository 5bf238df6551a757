"""`cachemeter up` as a user runs it: no DATABASE_URL, embedded Postgres under the data dir."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_up_serves_api_and_dashboard_with_demo_data(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["CACHEMETER_DATA_DIR"] = str(tmp_path / "data")
    script = Path(sys.executable).with_name("cachemeter")
    log = tmp_path / "up.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [str(script), "up", "--demo", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=sink,
            text=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "cachemeter up did not become ready"
            time.sleep(0.3)
        assert "cachemeter_input_tokens_total" in httpx.get(f"{base}/metrics", timeout=10).text
        # The first start printed the default tenant's key once; the demo data is its data.
        key = next(line for line in log.read_text().splitlines() if line.startswith("cm_"))
        with httpx.Client(base_url=base, timeout=10) as browser:
            gate = browser.get("/dashboard/")
            assert gate.status_code == 302 and "/dashboard/login" in gate.headers["location"]
            assert browser.post("/dashboard/login", data={"key": key}).status_code == 302
            assert browser.get("/dashboard/").status_code == 200
        report = httpx.get(
            f"{base}/v1/reports/summary?group_by=app",
            timeout=10,
            headers={"Authorization": f"Bearer {key}"},
        ).json()
        apps = {g["group"] for g in report["groups"]}
        assert {"support-bot", "code-review", "search-summaries", "analytics-agent"} <= apps
        # The demo went through the server's counters: a scrape counts every stored request.
        scraped = text_string_to_metric_families(httpx.get(f"{base}/metrics", timeout=10).text)
        counted = sum(
            sample.value
            for family in scraped
            if family.name == "cachemeter_requests"
            for sample in family.samples
            if sample.name == "cachemeter_requests_total"
        )
        assert counted == sum(g["requests"] for g in report["groups"]) > 0
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    assert proc.returncode == 0, log.read_text()
    assert (tmp_path / "data" / "pgdata" / "PG_VERSION").exists()


def test_dashboard_runs_on_its_own(db_url: str, monkeypatch: Any) -> None:
    from cachemeter.config import get_settings
    from cachemeter.wsgi import dashboard_wsgi
    from tests.factories import tenant_with_key

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("CACHEMETER_SECRET_KEY", "standalone")
    get_settings.cache_clear()
    try:
        server = dashboard_wsgi()
        from sqlalchemy import create_engine

        engine = create_engine(db_url)
        _, key = tenant_with_key(engine)
        engine.dispose()
        client = server.test_client()
        gate = client.get("/")
        assert gate.status_code == 302 and "/dashboard/login" in gate.headers["Location"]
        assert client.post("/login", data={"key": key}).status_code == 302
        assert client.get("/").status_code == 200
        assert client.post("/login", data={"key": "cm_wrong"}).status_code == 401
    finally:
        get_settings.cache_clear()
