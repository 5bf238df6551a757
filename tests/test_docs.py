"""The API docs work offline: /docs (Swagger UI) and /redoc load every script, stylesheet and
image from the server itself, with no inline code, under a Content-Security-Policy of 'self'."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from tests.browser import wait

PAGES = ("/docs", "/redoc")


def _csp(header: str) -> dict[str, list[str]]:
    directives = (part.split() for part in header.split(";") if part.strip())
    return {d[0]: d[1:] for d in directives}


@pytest.mark.parametrize("page", PAGES)
def test_docs_pages_name_only_their_own_assets(live_url: str, page: str) -> None:
    response = httpx.get(live_url + page)
    assert response.status_code == 200
    csp = _csp(response.headers["content-security-policy"])
    # Only this server: no host, no scheme but data: images, no 'unsafe-*'; ReDoc's two
    # injected <style> elements are allowed by their hashes alone.
    assert csp["default-src"] == csp["script-src"] == csp["connect-src"] == ["'self'"]
    assert csp["style-src"][0] == "'self'"
    assert all(source.startswith("'sha256-") for source in csp["style-src"][1:])
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["frame-ancestors"] == csp["object-src"] == ["'none'"]
    # No inline script or style: every <script> has a src, and no <style> element exists.
    assert "<style" not in response.text
    assert re.findall(r"<script(?![^>]*\ssrc=)[^>]*>", response.text) == []
    assets = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert len(assets) >= 2
    for asset in assets:
        url = urljoin(live_url + page, asset)
        assert url.startswith(live_url + "/"), asset  # nothing from a CDN
        loaded = httpx.get(url)
        assert loaded.status_code == 200, asset
        assert len(loaded.content) > 0
    # The Swagger UI bootstrap is a script of its own, not inline.
    if page == "/docs":
        init = httpx.get(f"{live_url}/docs/swagger-initializer.js")
        assert init.headers["content-type"].startswith("text/javascript")
        assert '"/openapi.json"' in init.text


def _errors(driver: Any) -> list[str]:
    """The console's errors, CSP violations among them."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def _resources(driver: Any) -> list[str]:
    names = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    return [str(name) for name in names]


@pytest.mark.browser
def test_swagger_ui_renders_the_api_offline(live_url: str, browser: Any) -> None:
    browser.get(f"{live_url}/docs")
    # Swagger UI has read /openapi.json and drawn the ingest operation.
    wait(
        browser,
        lambda d: any("/v1/usage" in e.text for e in d.find_elements("css selector", ".opblock")),
    )
    assert _errors(browser) == []
    assert all(name.startswith(live_url + "/") for name in _resources(browser))


@pytest.mark.browser
def test_redoc_renders_the_api_offline(live_url: str, browser: Any) -> None:
    browser.get(f"{live_url}/redoc")
    # ReDoc has drawn the ingest operation with its styles (a failed style injection shows
    # "Something went wrong" instead).
    wait(browser, lambda d: "Post Usage" in d.find_element("tag name", "body").text)
    assert "Something went wrong" not in browser.find_element("tag name", "body").text
    # The one thing named elsewhere is the attribution logo ReDoc hard-codes from its CDN, and
    # the CSP refused it.
    foreign = [name for name in _resources(browser) if not name.startswith(live_url + "/")]
    assert foreign in ([], ["https://cdn.redoc.ly/redoc/logo-mini.svg"])
    errors = _errors(browser)
    assert all("cdn.redoc.ly" in error and "img-src" in error for error in errors), errors
