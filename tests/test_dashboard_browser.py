"""The dashboard served by the real app, driven in a real headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import uvicorn
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from cachemeter.server import create_app
from dashboard.app import render_daily
from store.settings import Settings
from tests.factories import anthropic_record, tenant_with_key

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _seed(engine: Engine, days: int = 3) -> None:
    """Per day: one request with no cache read, then reads that grow day by day."""
    from fastapi.testclient import TestClient

    _, key = tenant_with_key(engine, "acme")
    now = datetime.now(UTC) - timedelta(minutes=1)
    records = []
    for day in range(days):
        at = (now - timedelta(days=days - 1 - day)).isoformat()
        records.append(
            anthropic_record(request_id=f"w{day}", plain=100, write=4000, occurred_at=at)
        )
        records.append(
            anthropic_record(request_id=f"r{day}", plain=100, read=4000 * (day + 1), occurred_at=at)
        )
    app = create_app(Settings(), engine=engine, registry=CollectorRegistry())
    with TestClient(app) as client:
        body = client.post(
            "/v1/usage", json={"records": records}, headers={"Authorization": f"Bearer {key}"}
        ).json()
    assert body["accepted"] == 2 * days


@pytest.fixture
def live_server(engine: Engine) -> Iterator[str]:
    app = create_app(Settings(dashboard_tenant="acme"), engine=engine, registry=CollectorRegistry())
    port = _free_port()
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
def browser() -> Iterator[Any]:
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("CI"):
            pytest.fail(
                "CI must run the browser tests: install Debian's chromium and chromium-driver"
            )
        pytest.skip("chromium/chromedriver not installed (make test installs them as root)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="cachemeter-chromium-")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def test_daily_hit_rate_and_savings_render(engine: Engine, live_server: str, browser: Any) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    _seed(engine)
    browser.get(f"{live_server}/dashboard/")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: "requests" in d.find_element("id", "headline").text)
    assert "6 requests" in browser.find_element("id", "headline").text
    # The hit-rate line: one point per day, read from the rendered Plotly figure.
    points = wait.until(
        lambda d: d.execute_script(
            "const g = document.querySelector('#daily .js-plotly-plot');"
            "if (!g || !g.data) return null;"
            "const line = g.data.find(t => t.name === 'token hit rate');"
            "return line ? line.y : null;"
        )
    )
    # Day n: reads 4000(n+1) of input (100 + 4000 written) + (100 + 4000(n+1) read).
    expected = [4000 * (n + 1) / (4200 + 4000 * (n + 1)) for n in range(3)]
    assert points == pytest.approx(expected)
    assert len(browser.find_elements("css selector", "#daily .scatterlayer .trace")) == 1
    browser.save_screenshot(os.path.join(tempfile.gettempdir(), "cachemeter-dashboard.png"))


def test_render_daily_without_tenant(engine: Engine) -> None:
    _, headline = render_daily(engine, "nobody", None, None)
    assert "no tenant" in headline
