"""Values checked where they are final, one strict JSON reader, bounded parameters: each input
below answered 500 before (a database error, an overflow, a 422 that could not encode NaN)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from cachemeter.api.strict import StrictRoute
from tests.factories import anthropic_record

WRITTEN = ("usage_events", "cache_objects", "budgets", "api_keys", "prices", "reprice_runs")
JSON = {"Content-Type": "application/json"}


def _counts(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [
            int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in WRITTEN
        ]


def _otel_record(request_id: str, system: str) -> dict[str, Any]:
    """An OTel-style usage object whose provider is its `gen_ai.system`."""
    return {
        "request_id": request_id,
        "usage": {
            "gen_ai.system": system,
            "gen_ai.request.model": "claude-sonnet-4-5",
            "gen_ai.usage.input_tokens": 10,
            "gen_ai.usage.output_tokens": 2,
        },
    }


def test_a_value_too_long_once_normalised_rejects_only_its_record(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    # The provider column holds 64 characters; the record's own fields were all valid.
    body = {"records": [anthropic_record(request_id="ok"), _otel_record("long", "x" * 65)]}
    response = client.post("/v1/usage", json=body, headers=auth)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["accepted"] == 1
    assert result["rejected"] == [
        {"index": 1, "error": "provider: 65 characters once normalised; the limit is 64"}
    ]
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT request_id FROM usage_events")).scalars().all()
    assert stored == ["ok"]


@pytest.mark.parametrize(
    ("occurred_at", "reason"),
    [
        ("0001-01-01T00:00:00+14:00", "within 1970-01-01 to 2199-12-31"),
        ("9999-12-31T23:59:59-14:00", "within 1970-01-01 to 2199-12-31"),
        ("2300-01-01T00:00:00Z", "within 1970-01-01 to 2199-12-31"),
    ],
)
def test_record_times_at_the_edges_are_refused_naming_occurred_at(
    client: TestClient, engine: Engine, auth: dict[str, str], occurred_at: str, reason: str
) -> None:
    bad = anthropic_record(request_id="edge", occurred_at=occurred_at)
    response = client.post(
        "/v1/usage", json={"records": [anthropic_record(request_id="ok"), bad]}, headers=auth
    )
    assert response.status_code == 200, response.text
    [rejected] = response.json()["rejected"]
    assert rejected["index"] == 1
    assert rejected["error"].startswith("occurred_at") and reason in rejected["error"]
    assert _counts(engine)[0] == 1


def test_cache_times_at_the_edges_are_refused_naming_the_field(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    cache = {
        "name": "cachedContents/a",
        "model": "gemini-2.5-pro",
        "token_count": 1000,
        "created_at": "0001-01-01T00:00:00+14:00",
        "ttl_seconds": 3600,
    }
    response = client.post("/v1/caches", json=cache, headers=auth)
    assert response.status_code == 422, response.text
    assert "created_at" in response.text and "1970-01-01 to 2199-12-31" in response.text
    assert _counts(engine)[1] == 0


MALFORMED_OTLP = [
    b'{"resourceSpans":[1]}',
    b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":'
    b'[{"key":"gen_ai.usage.input_tokens","value":{"intValue":"abc"}}]}]}]}]}',
    b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"soon"}]}]}]}',
    b'{"resourceSpans":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"resourceSpans":NaN}',
    b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":'
    b'[{"key":"gen_ai.usage.input_tokens","value":{"doubleValue":Infinity}}]}]}]}]}',
    b"not json",
]


@pytest.mark.parametrize("body", MALFORMED_OTLP, ids=range(len(MALFORMED_OTLP)))
def test_malformed_otlp_json_is_400_as_the_otlp_spec_says(
    client: TestClient, engine: Engine, auth: dict[str, str], body: bytes
) -> None:
    response = client.post("/v1/traces", content=body, headers={**auth, **JSON})
    assert response.status_code == 400, response.text
    assert response.json()["detail"].startswith("body")  # the body, or the path into it
    assert _counts(engine)[0] == 0


@pytest.mark.parametrize(
    "body",
    [b'{"resourceLogs":[1]}', b'{"resourceLogs":[{"resource":7}]}', b"[" * 100_000, b"{"],
)
@pytest.mark.parametrize("path", ["/v1/logs", "/v1/metrics"])
def test_malformed_otlp_logs_and_metrics_are_400(
    client: TestClient, auth: dict[str, str], body: bytes, path: str
) -> None:
    if path == "/v1/metrics":
        body = body.replace(b"resourceLogs", b"resourceMetrics")
    response = client.post(path, content=body, headers={**auth, **JSON})
    assert response.status_code == 400, response.text


def _span(span_id: str, start_ns: str) -> dict[str, Any]:
    return {
        "spanId": span_id,
        "startTimeUnixNano": start_ns,
        "attributes": [
            {"key": "gen_ai.system", "value": {"stringValue": "openai"}},
            {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-5.1"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "100"}},
            {"key": "gen_ai.usage.output_tokens", "value": {"intValue": 5}},
            # Not a number anyone can bill; dropped, never stored (JSON has no NaN).
            {"key": "cachemeter.weight", "value": {"doubleValue": "NaN"}},
        ],
    }


def test_an_otlp_span_out_of_range_is_refused_alone(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    # 2026-11-20 and the last fixed64 nanosecond (year 2554): the second span alone is refused.
    spans = [
        _span("0102030405060708", "1795132800000000000"),
        _span("0a0b", "18446744073709551615"),
    ]
    export = {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}
    response = client.post("/v1/traces", json=export, headers=auth)
    assert response.status_code == 200, response.text
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert partial["errorMessage"].startswith("occurred_at")
    with engine.connect() as conn:
        [(request_id, raw)] = conn.execute(text("SELECT request_id, raw FROM usage_events")).all()
    # OTLP/JSON ids are hex (not the protobuf mapping's base64): read as sent.
    assert request_id == "0102030405060708"
    assert "cachemeter.weight" not in raw


@pytest.mark.parametrize(
    "query",
    [
        "/v1/reports/summary?end=0001-01-01",
        "/v1/reports/summary?start=0001-01-01T00:00:00%2B14:00&end=2026-01-01",
        "/v1/reports/summary?start=9999-12-31T23:00:00-14:00",
        "/v1/reports/summary?start=2026-02-01&end=2026-01-01",
        "/v1/reports/cache-economics?end=2200-01-01",
        "/v1/reports/advice?start=2026-02-01&end=2026-01-01",
        "/v1/reports/advice?min_saving=NaN",
        "/v1/reports/advice?min_saving=-1",
        "/v1/reports/advice?min_requests=0",
        "/v1/reports/reconciliation?start=1969-12-31",
        "/v1/regressions?start=2026-01-01&end=2026-01-01",
        "/v1/ingest/rejections?end=0001-01-01",
        "/v1/ingest/outcomes?start=9999-12-31T23:00:00-14:00",
        "/v1/reports/statement?month=9999-12",
        "/v1/reports/statement?month=1969-12",
        "/v1/reports/statement?month=2026-13",
        "/v1/budgets?month=9999-12",
        "/v1/budgets?month=0000-00",
    ],
)
def test_dates_and_months_outside_the_supported_range_are_422(
    client: TestClient, auth: dict[str, str], query: str
) -> None:
    response = client.get(query, headers=auth)
    assert response.status_code == 422, response.text


def test_the_edges_of_the_supported_range_are_served(
    client: TestClient, auth: dict[str, str]
) -> None:
    for query in (
        "/v1/reports/summary?start=1970-01-01&end=2199-12-31T23:59:59Z",
        "/v1/reports/statement?month=2199-12",
        "/v1/reports/statement?month=1970-01",
        "/v1/budgets?month=2199-12",
    ):
        response = client.get(query, headers=auth)
        assert response.status_code == 200, (query, response.text)


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("DELETE", "/v1/keys/%00", "path"),
        ("POST", "/v1/keys/%00/rotate", "path"),
        ("DELETE", "/v1/budgets/team/%00", "path"),
        ("GET", "/v1/regressions?start=%00", "query parameter 'start'"),
        ("GET", "/v1/reports/summary?group_by=app%00", "query parameter 'group_by'"),
        ("GET", "/dashboard/login?next=%00", "query parameter 'next'"),
    ],
)
def test_nul_in_a_path_or_query_is_422_naming_it(
    client: TestClient, engine: Engine, auth: dict[str, str], method: str, path: str, name: str
) -> None:
    before = _counts(engine)
    response = client.request(method, path, headers=auth)
    assert response.status_code == 422, response.text
    assert response.json() == {"detail": f"{name}: must not contain NUL characters"}
    assert _counts(engine) == before


PRICE = {"provider": "anthropic", "model": "claude-sonnet-4-5", "input_mtok": 2, "output_mtok": 12}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"note": "a\x00b"}, "note"),
        ({"effective_from": "2026-02-01", "effective_to": "2026-01-01"}, "effective_to"),
        ({"effective_from": "0001-01-01T00:00:00+14:00"}, "effective_from"),
        # Canonical provider names are final only in the store: checked there too.
        ({"provider": "p" * 65}, "provider"),
    ],
)
def test_bad_prices_are_422_naming_the_field_and_store_nothing(
    client: TestClient, engine: Engine, auth: dict[str, str], change: dict[str, str], field: str
) -> None:
    before = _counts(engine)
    response = client.post("/v1/prices", json={**PRICE, **change}, headers=auth)
    assert response.status_code == 422, response.text
    assert field in response.text
    assert _counts(engine) == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/v1/budgets", b'{"scope": "team", "name": "a", "amount": NaN}'),
        ("POST", "/v1/keys", b'{"name": "a", "scopes": ["read"], "x": Infinity}'),
        ("POST", "/v1/keys/cm_abc/rotate", b'{"grace_hours": -Infinity}'),
        (
            "POST",
            "/v1/reprice",
            b'{"start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z", "reason": NaN}',
        ),
        ("POST", "/v1/prices", b'{"provider": "a", "model": "b", "input_mtok": 1e999}'),
        ("POST", "/v1/usage", b'{"usage": {"input_tokens": NaN}}'),
        ("POST", "/v1/caches", b'{"token_count": Infinity}'),
        ("PUT", "/v1/budgets", b'{"scope": "team", "name": "\\ud800", "amount": 1}'),
    ],
)
def test_bodies_that_are_not_strict_json_are_400(
    client: TestClient, engine: Engine, auth: dict[str, str], method: str, path: str, body: bytes
) -> None:
    before = _counts(engine)
    response = client.request(method, path, content=body, headers={**auth, **JSON})
    assert response.status_code == 400, response.text
    assert response.json()["detail"].startswith("body: not valid JSON (RFC 8259)")
    assert _counts(engine) == before


def test_reprice_bounds_its_range(client: TestClient, auth: dict[str, str]) -> None:
    body = {"start": "0001-01-01T00:00:00+14:00", "end": "2026-01-01T00:00:00Z", "reason": "x"}
    response = client.post("/v1/reprice", json=body, headers=auth)
    assert response.status_code == 422
    assert "start" in response.text and "1970-01-01 to 2199-12-31" in response.text
    body = {"start": "2026-02-01T00:00:00Z", "end": "2026-01-01T00:00:00Z", "reason": "x"}
    assert client.post("/v1/reprice", json=body, headers=auth).status_code == 422


def test_every_api_route_reads_its_body_with_the_strict_parser(client: TestClient) -> None:
    app: Any = client.app
    # Included routers keep their own routes (FastAPI >= 0.160 does not copy them).
    routes = [
        route
        for entry in app.routes
        for route in getattr(getattr(entry, "original_router", None), "routes", [entry])
        if isinstance(route, APIRoute) and route.path.startswith(("/v1/", "/api/"))
    ]
    assert len(routes) >= 15
    assert [r.path for r in routes if not isinstance(r, StrictRoute)] == []


def test_a_record_nested_too_deep_rejects_only_itself(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    deep: Any = {"x": 1}
    for _ in range(40):
        deep = [deep]
    bad = anthropic_record(request_id="deep", tags={"a": "b"})
    bad["usage"]["extra"] = deep
    body = {"records": [bad, anthropic_record(request_id="ok")]}
    response = client.post("/v1/usage", json=body, headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["rejected"] == [
        {"index": 0, "error": "record: JSON nested deeper than 32 levels"}
    ]
    assert _counts(engine)[0] == 1
