"""Hostile input against every route: hypothesis mutates a valid request of each (types,
lengths, unicode, NUL, extreme numbers, nesting, broken JSON, hostile path and query values)
and the answer is never a 5xx, never carries a stack trace, stores nothing when it refuses,
and a batch always stores its one untouched record beside the mutated ones.

The figures (inputs tried per route, 5xx seen) are printed at the end and quoted in the README.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from tests.factories import anthropic_record
from tests.mutation import HOSTILE_TEXT, mutants

WRITTEN = ("usage_events", "cache_objects", "budgets", "api_keys", "prices", "reprice_runs")
TRIED: Counter[str] = Counter()
SERVER_ERRORS: Counter[str] = Counter()
_ids = itertools.count()


@dataclass(frozen=True)
class Seed:
    """A valid request of one route; `batch` names its list of records when it has one."""

    method: str
    path: str
    body: Any = None
    query: dict[str, str] = field(default_factory=dict)
    # The path's parameters (mutated like query values).
    params: dict[str, str] = field(default_factory=dict)
    batch: str | None = None


def _otlp_span() -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "a"}}]
                },
                "scopeSpans": [
                    {
                        "scope": {"name": "opentelemetry.instrumentation.openai"},
                        "spans": [
                            {
                                "traceId": "0102030405060708090a0b0c0d0e0f10",
                                "spanId": "0102030405060708",
                                "startTimeUnixNano": "1795132800000000000",
                                "endTimeUnixNano": "1795132801000000000",
                                "attributes": [
                                    {"key": "gen_ai.system", "value": {"stringValue": "openai"}},
                                    {
                                        "key": "gen_ai.request.model",
                                        "value": {"stringValue": "gpt-5.1"},
                                    },
                                    {
                                        "key": "gen_ai.usage.input_tokens",
                                        "value": {"intValue": "4000"},
                                    },
                                    {
                                        "key": "gen_ai.usage.output_tokens",
                                        "value": {"intValue": 20},
                                    },
                                ],
                            }
                        ],
                    }
                ],
            }
        ]
    }


CACHE = {
    "name": "cachedContents/abc",
    "model": "gemini-2.5-pro",
    "token_count": 100_000,
    "created_at": "2026-11-20T10:00:00Z",
    "ttl_seconds": 3600,
    "app": "rag",
}
PRICE = {
    "provider": "anthropic",
    "model": "claude-sonnet-4-5",
    "input_mtok": "2.5",
    "output_mtok": "12",
    "effective_from": "2026-01-01T00:00:00Z",
    "note": "negotiated",
}
RANGE = {"start": "2026-11-01", "end": "2026-11-30T00:00:00Z"}
SEEDS = [
    Seed("POST", "/v1/usage", anthropic_record()),
    Seed(
        "POST", "/v1/usage", {"records": [anthropic_record(), anthropic_record()]}, batch="records"
    ),
    Seed("POST", "/v1/caches", CACHE),
    Seed("POST", "/v1/caches", {"caches": [CACHE, CACHE]}, batch="caches"),
    Seed("POST", "/v1/traces", _otlp_span()),
    Seed("POST", "/api/public/otel/v1/traces", _otlp_span()),
    Seed("POST", "/v1/logs", {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {}}]}]}]}),
    Seed("POST", "/v1/metrics", {"resourceMetrics": [{"scopeMetrics": [{"metrics": []}]}]}),
    Seed("GET", "/v1/reports/summary", query={**RANGE, "group_by": "app", "format": "json"}),
    Seed("GET", "/v1/reports/statement", query={"month": "2026-11", "group_by": "team"}),
    Seed("GET", "/v1/reports/reconciliation", query={**RANGE, "tolerance_pct": "1"}),
    Seed("GET", "/v1/reports/cache-economics", query=RANGE),
    Seed(
        "GET",
        "/v1/reports/advice",
        query={**RANGE, "app": "search", "min_saving": "0.5", "min_requests": "2"},
    ),
    Seed("GET", "/v1/regressions", query={**RANGE, "status": "all"}),
    Seed("GET", "/v1/ingest/rejections", query=RANGE),
    Seed("GET", "/v1/ingest/outcomes", query={**RANGE, "source": "push", "bucket": "day"}),
    Seed("GET", "/v1/exports/focus", query={"month": "2026-11", "currency": "USD"}),
    Seed("PUT", "/v1/budgets", {"scope": "team", "name": "search", "amount": "100.5"}),
    Seed("GET", "/v1/budgets", query={"month": "2026-11"}),
    Seed("DELETE", "/v1/budgets/{scope}/{name}", params={"scope": "team", "name": "search"}),
    Seed("GET", "/v1/keys"),
    Seed("POST", "/v1/keys", {"name": "ci", "scopes": ["ingest", "read"]}),
    Seed("POST", "/v1/keys/{prefix}/rotate", {"grace_hours": 1}, params={"prefix": "cm_unknown"}),
    Seed("DELETE", "/v1/keys/{prefix}", params={"prefix": "cm_unknown"}),
    Seed(
        "POST",
        "/v1/regressions/{regression_id}/acknowledge",
        params={"regression_id": "regression_" + "a" * 24},
    ),
    Seed("GET", "/v1/prices"),
    Seed("POST", "/v1/prices", PRICE),
    Seed(
        "POST",
        "/v1/reprice",
        {**RANGE, "reason": "contract", "provider": "anthropic", "dry_run": True},
    ),
]
URL_SAFE = [t for t in HOSTILE_TEXT if "\ud800" not in t]


@st.composite
def requests(draw: st.DrawFn, seed: Seed) -> tuple[str, str, bytes | None, Any]:
    """(method, url, body bytes, the untouched record of a batch) for one mutated request."""
    params = dict(seed.params)
    query = dict(seed.query)
    body = seed.body
    pristine = None
    target = draw(st.sampled_from(["body", "body", "raw", "query", "path"]))
    if target == "path" and params:
        name = draw(st.sampled_from(sorted(params)))
        params[name] = draw(st.sampled_from(URL_SAFE) | st.text(min_size=1, max_size=30))
    elif target in ("query", "path") or body is None:
        name = draw(st.sampled_from([*query, "unknown"]))
        query[name] = draw(st.sampled_from(URL_SAFE) | st.text(max_size=30))
    elif seed.batch and target == "body":
        items = [draw(mutants(item)) for item in body[seed.batch]]
        # One record nobody touched: whatever its neighbours are, it is stored.
        unique = next(_ids)
        key, value = (
            ("name", f"cachedContents/pristine-{unique}")
            if seed.batch == "caches"
            else ("request_id", f"pristine-{unique}")
        )
        pristine = {**body[seed.batch][0], key: value}
        body = {seed.batch: [*items, pristine]}
    else:
        body = draw(mutants(body))
    data = None
    if body is not None:
        # ensure_ascii keeps lone surrogates (as \ud800 escapes); allow_nan writes NaN/Infinity.
        data = json.dumps(body, ensure_ascii=True, allow_nan=True).encode()
        if target == "raw":
            cut = draw(st.integers(0, len(data)))
            insert = draw(st.sampled_from([b"", b"\x00", b"NaN", b"\xff", b"[" * 2000]))
            data = data[:cut] + insert + (data[cut:] if insert else b"")
    path = seed.path.format(**{k: quote(v, safe="") for k, v in params.items()})
    query_text = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query.items())
    return seed.method, f"{path}?{query_text}" if query_text else path, data, pristine


def _refuse(constant: str) -> None:
    raise ValueError(constant)


def _is_json(data: bytes | None) -> bool:
    """RFC 8259 JSON (no NaN or Infinity) whose strings are Unicode (no lone surrogates)."""
    try:
        json.dumps(json.loads(data or b"", parse_constant=_refuse), ensure_ascii=False).encode()
    except ValueError:  # UnicodeEncodeError included
        return False
    return True


def _counts(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [
            int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in WRITTEN
        ]


def _stored(engine: Engine, seed: Seed, pristine: dict[str, Any]) -> bool:
    with engine.connect() as conn:
        if seed.batch == "caches":
            query = text("SELECT count(*) FROM cache_objects WHERE name = :key")
            key = pristine["name"]
        else:
            query = text("SELECT count(*) FROM usage_events WHERE request_id = :key")
            key = pristine["request_id"]
        return int(conn.execute(query, {"key": key}).scalar_one()) == 1


@pytest.fixture(scope="module", autouse=True)
def figures() -> Iterator[None]:
    yield
    total = sum(TRIED.values())
    errors = sum(SERVER_ERRORS.values())
    print(f"\nhostile inputs: {total} requests over {len(TRIED)} routes, 5xx: {errors}")
    for route, count in sorted(TRIED.items()):
        print(f"  {route}: {count}")


@pytest.mark.parametrize(
    "seed", SEEDS, ids=[f"{s.method} {s.path}{' batch' if s.batch else ''}" for s in SEEDS]
)
def test_hostile_requests_never_5xx_and_store_nothing_partial(
    client: TestClient, engine: Engine, auth: dict[str, str], seed: Seed
) -> None:
    @given(request=requests(seed))
    @settings(
        max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def check(request: tuple[str, str, bytes | None, Any]) -> None:
        method, url, data, pristine = request
        before = _counts(engine)
        headers = {**auth, "Content-Type": "application/json"}
        response = client.request(method, url, content=data, headers=headers)
        route = f"{seed.method} {seed.path}"
        TRIED[route] += 1
        if response.status_code >= 500:
            SERVER_ERRORS[route] += 1
        assert response.status_code < 500, (url, data, response.text)
        assert "Traceback" not in response.text and 'File "' not in response.text
        if response.status_code >= 400:
            assert response.headers["content-type"].startswith("application/json"), response.text
            assert _counts(engine) == before, (url, data, response.text)
        if pristine is not None and _is_json(data):
            # A body that is not JSON cannot be read at all; any JSON batch stores its valid one.
            assert response.status_code == 200, (url, data, response.text)
            assert _stored(engine, seed, pristine), (url, data, response.text)

    check()
