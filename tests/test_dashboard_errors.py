"""The dashboard never answers 500: crafted callback requests (malformed JSON, wrong shapes,
unknown callbacks, values of the wrong type, null or unknown dropdown choices, NUL characters)
are 400s naming what was wrong, a filter it cannot use is ignored with a visible note, and a
database that does not answer is a 503 with Retry-After."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from cachemeter.config import Settings
from cachemeter.server import create_app
from dashboard.errors import VALUE_TYPES
from store.db import DATABASE_DOWN_DETAIL, RETRY_AFTER_SECONDS, make_engine
from tests.dashboard_requests import CALLBACK, CALLBACKS, request_for
from tests.factories import anthropic_record, dashboard_cookie_signer, tenant_with_key

HOSTILE: list[Any] = [
    None,
    "",
    "bogus",
    "a\x00b",
    "?app=a%00b&start=0001-01-01&end=9999-12-31",
    "9999-12",
    "x" * 5000,
    7,
    1.5,
    True,
    [],
    ["provider"],
    {"a": 1},
]


@pytest.fixture
def dashboard(client: TestClient, engine: Engine) -> Iterator[TestClient]:
    """A client signed in to the dashboard of a tenant with some usage."""
    _, key = tenant_with_key(engine)
    client.post("/v1/usage", json=anthropic_record(), headers={"Authorization": f"Bearer {key}"})
    assert client.post("/dashboard/login", data={"key": key}).status_code == 200
    yield client


def _no_trace(response: Any) -> None:
    assert response.status_code != 500, response.text
    assert "Traceback" not in response.text and 'File "' not in response.text


def test_every_callback_answers_its_normal_request(dashboard: TestClient) -> None:
    for output in CALLBACKS:
        response = dashboard.post(CALLBACK, json=request_for(output))
        assert response.status_code in (200, 204), (output, response.text)


def test_every_input_property_has_a_declared_type() -> None:
    used = {p["property"] for spec in CALLBACKS.values() for p in spec["inputs"] + spec["state"]}
    assert used <= set(VALUE_TYPES)


@pytest.mark.parametrize("output", sorted(CALLBACKS))
def test_hostile_values_in_any_input_are_4xx_or_handled(dashboard: TestClient, output: str) -> None:
    spec = CALLBACKS[output]
    for prop in spec["inputs"] + spec["state"]:
        for value in HOSTILE:
            body = request_for(output, {(prop["id"], prop["property"]): value})
            response = dashboard.post(CALLBACK, json=body)
            _no_trace(response)
            assert response.status_code in (200, 204, 400), (prop, value, response.text)
            if response.status_code == 400:
                assert response.headers["content-type"].startswith("application/json")
                assert response.json()["error"]


def test_wrong_types_and_null_choices_name_the_input(dashboard: TestClient) -> None:
    hit = next(o for o in CALLBACKS if o.startswith("..hit-series"))
    wrong: Any
    for wrong in (5, ["?a=1"]):
        response = dashboard.post(CALLBACK, json=request_for(hit, {("url", "search"): wrong}))
        assert response.status_code == 400
        assert response.json() == {"error": "url.search must be a str or null"}
    for choice in (None, "tenant_id", "__table__"):
        response = dashboard.post(CALLBACK, json=request_for(hit, {("hit-group", "value"): choice}))
        assert response.status_code == 400
        said = response.json()["error"]
        assert "hit-group must be one of provider, model, app, team, environment" in said
    nul = dashboard.post(CALLBACK, json=request_for(hit, {("hit-heat-provider", "value"): "a\x00"}))
    assert nul.json() == {"error": "hit-heat-provider.value must not contain a NUL character"}


def test_malformed_callback_bodies_are_400_json(dashboard: TestClient) -> None:
    route = request_for("..page.children...filters.children..")
    bodies: list[tuple[bytes, str]] = [
        (b"{", "application/json"),
        (b"null", "application/json"),
        (b"\x00", "application/json"),
        (b"[]", "application/json"),
        (b'"x"', "application/json"),
        (b"{}", "application/json"),
        (b'{"output": 5}', "application/json"),
        (b'{"output": "x", "outputs": 5, "inputs": 5}', "application/json"),
        (json.dumps({**route, "output": "nope.children"}).encode(), "application/json"),
        (json.dumps({**route, "inputs": []}).encode(), "application/json"),
        (json.dumps({**route, "state": "x"}).encode(), "application/json"),
        (json.dumps({**route, "outputs": route["outputs"][:1]}).encode(), "application/json"),
        (
            json.dumps(
                {**route, "inputs": [{"id": "f-app", "property": "value", "value": "x"}]}
            ).encode(),
            "application/json",
        ),
        (
            json.dumps(
                {**route, "inputs": [{"id": {"type": "x"}, "property": "pathname"}]}
            ).encode(),
            "application/json",
        ),
        (b"output=x", "application/x-www-form-urlencoded"),
        (b"abc", "text/plain"),
    ]
    for raw, content_type in bodies:
        response = dashboard.post(CALLBACK, content=raw, headers={"Content-Type": content_type})
        _no_trace(response)
        assert response.status_code == 400, (raw, response.text)
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"]
    # Not a POST: Dash's catch-all page route answers it (the app shell), not a 500.
    _no_trace(dashboard.get(CALLBACK))


def test_a_crafted_request_that_is_not_signed_in_is_401_first(client: TestClient) -> None:
    response = client.post(CALLBACK, content=b"{", headers={"Content-Type": "application/json"})
    assert response.status_code == 401 and response.json() == {"error": "not signed in"}


def test_unusable_filters_are_ignored_with_a_note(dashboard: TestClient) -> None:
    route = "..page.children...filters.children.."
    for search, note in (
        ("?app=a%00b", "app: a NUL character is not allowed"),
        ("?start=0001-01-01&end=9999-12-31", "from 2000-01-01 to 2100-12-31"),
        ("?start=2026-11-30&end=2026-11-01", "the start before the end"),
        ("?start=2026-11-30T25:00&end=2026-12-01", "or dates and times (YYYY-MM-DDTHH:MM)"),
        ("?tz=Nowhere%2FAtAll", "tz: not an IANA time zone name"),
        # A name the system has (a link to its own zone) and Postgres does not.
        ("?tz=localtime", "tz: not an IANA time zone name"),
    ):
        response = dashboard.post(CALLBACK, json=request_for(route, {("url", "search"): search}))
        assert response.status_code == 200, response.text
        assert note in response.text
    # The page callbacks read the same query: the NUL filter is left out, not sent to Postgres.
    overview = next(o for o in CALLBACKS if ".overview-cards.children." in o)
    response = dashboard.post(
        CALLBACK, json=request_for(overview, {("url", "search"): "?range=90d&app=%00"})
    )
    assert response.status_code == 200
    assert "1" in json.dumps(response.json()["response"]["overview-cards"])


def test_unknown_pages_say_so(dashboard: TestClient) -> None:
    for path in ("/dashboard/nope", "/dashboard/%00", "/dashboard/" + "x" * 3000):
        page = dashboard.get(path)
        # A NUL in the path is refused before the dashboard sees it (422, naming the path).
        assert page.status_code in (200, 404, 422)
        response = dashboard.post(
            CALLBACK,
            json=request_for("..page.children...filters.children..", {("url", "pathname"): path}),
        )
        assert response.status_code == 200 and "No such page" in response.text


def test_a_statement_month_out_of_range_is_a_note(dashboard: TestClient) -> None:
    for month in ("9999-12", "0000-01", "2026-13", "x"):
        response = dashboard.post(
            CALLBACK, json=request_for("st-table.children", {("st-month", "value"): month})
        )
        assert response.status_code == 200 and "month: must be" in response.text


def test_postgres_down_is_503_with_retry_after() -> None:
    # Nothing listens on port 1: every connection attempt fails as with a stopped server.
    down = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/x", pool_pre_ping=False)
    app = create_app(
        Settings(secret_key="s", regression_interval_seconds=0),
        engine=down,
        registry=CollectorRegistry(),
    )
    with TestClient(app) as client:
        login = client.post("/dashboard/login", data={"key": "cm_x"})
        # A signed cookie, so the session is looked up (and the database found away).
        cookie = dashboard_cookie_signer("s").dumps({"tenant_id": 1, "sid": "t"})
        client.cookies.set("session", cookie)
        callback = client.post(CALLBACK, json=request_for("..page.children...filters.children.."))
        page = client.get("/dashboard/overview", follow_redirects=False)
        logout = client.get("/dashboard/logout", follow_redirects=False)
    down.dispose()
    for response in (login, callback, page, logout):
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
        _no_trace(response)
    assert callback.json() == {"detail": DATABASE_DOWN_DETAIL}
    assert page.text == login.text == DATABASE_DOWN_DETAIL
