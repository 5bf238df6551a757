"""Provider usage API collectors against a local fake that pages like the documented APIs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine, func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cachemeter.cli.collect import collect
from ingest.collectors.usage_apis import ANTHROPIC, OPENAI, openai_buckets
from ingest.errors import PayloadError
from store.models import ProviderUsageBucket
from store.provider_usage import compare, cursor
from store.tenants import ensure_tenant

NOW = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
FAILING: set[str] = set()
# Page token -> the raw body the fake answers instead (a provider misbehaving).
BROKEN: dict[str, bytes] = {}
PAGE = 2


def _hours(start: datetime, end: datetime) -> list[datetime]:
    hours, at = [], start
    while at < end:
        hours.append(at)
        at += timedelta(hours=1)
    return hours


def _page(hours: list[datetime], request: Request, make: Any) -> Response:
    token = request.query_params.get("page", "page_0")
    if token in FAILING:
        return JSONResponse({"error": {"message": "overloaded"}}, status_code=503)
    if token in BROKEN:
        return Response(BROKEN[token], media_type="application/json")
    index = int(token.split("_")[1])
    chunk = hours[index * PAGE : (index + 1) * PAGE]
    more = (index + 1) * PAGE < len(hours)
    return JSONResponse(
        {
            "data": [make(h) for h in chunk],
            "has_more": more,
            "next_page": f"page_{index + 1}" if more else None,
        }
    )


async def openai_usage(request: Request) -> Response:
    assert request.headers["authorization"] == "Bearer admin-o"
    start = datetime.fromtimestamp(int(request.query_params["start_time"]), UTC)
    end = datetime.fromtimestamp(int(request.query_params["end_time"]), UTC)
    return _page(
        _hours(start, end),
        request,
        lambda h: {
            "object": "bucket",
            "start_time": int(h.timestamp()),
            "end_time": int((h + timedelta(hours=1)).timestamp()),
            "results": [
                {
                    "object": "organization.usage.completions.result",
                    "input_tokens": 10_000 + h.hour,
                    "input_cached_tokens": 6_000,
                    "output_tokens": 500,
                    "num_model_requests": 4,
                    "model": "gpt-5.1",
                    "project_id": None,
                    "user_id": None,
                    "api_key_id": None,
                    "batch": None,
                }
            ],
        },
    )


async def anthropic_usage(request: Request) -> Response:
    assert request.headers["x-api-key"] == "admin-a" and request.headers["anthropic-version"]
    start = datetime.fromisoformat(request.query_params["starting_at"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(request.query_params["ending_at"].replace("Z", "+00:00"))
    return _page(
        _hours(start, end),
        request,
        lambda h: {
            "starting_at": h.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ending_at": (h + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "results": [
                {
                    "uncached_input_tokens": 1500,
                    "cache_read_input_tokens": 200,
                    "cache_creation": {
                        "ephemeral_1h_input_tokens": 1000,
                        "ephemeral_5m_input_tokens": 500,
                    },
                    "output_tokens": 500,
                    "server_tool_use": {"web_search_requests": 0},
                    "api_key_id": None,
                    "workspace_id": "wrk_1",
                    "model": "claude-sonnet-4-5",
                    "service_tier": "standard",
                    "context_window": "0-200k",
                }
            ],
        },
    )


@pytest.fixture
def fake() -> Iterator[str]:
    app = Starlette(
        routes=[
            Route("/v1/organization/usage/completions", openai_usage),
            Route("/v1/organizations/usage_report/messages", anthropic_usage),
        ]
    )
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    FAILING.clear()
    BROKEN.clear()


def _rows(engine: Engine, provider: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(ProviderUsageBucket)
                .where(ProviderUsageBucket.provider == provider)
            ).scalar_one()
        )


def test_openai_pages_cursor_and_rerun(engine: Engine, fake: str) -> None:
    with engine.begin() as conn:
        tenant = ensure_tenant(conn, "acme")
    since = datetime(2026, 11, 20, 6, tzinfo=UTC)
    result = collect(engine, tenant.id, OPENAI, base_url=fake, key="admin-o", now=NOW, since=since)
    # Complete hours 06:00 .. 11:00 (12:00 is still running): 6 buckets over 3 pages.
    assert (result["buckets"], _rows(engine, "openai")) == (6, 6)
    with engine.connect() as conn:
        assert cursor(conn, tenant.id, "openai:1h") == datetime(2026, 11, 20, 12, tzinfo=UTC)
        first = conn.execute(
            select(ProviderUsageBucket.__table__).where(ProviderUsageBucket.bucket_start == since)
        ).one()
    assert (first.input_tokens, first.cache_read_tokens, first.output_tokens, first.requests) == (
        10_006,
        6_000,
        500,
        4,
    )
    # An hour later: one bucket back for late data, then the new one; nothing doubles.
    again = collect(
        engine, tenant.id, OPENAI, base_url=fake, key="admin-o", now=NOW + timedelta(hours=1)
    )
    assert again["from"] == "2026-11-20T11:00:00+00:00" and _rows(engine, "openai") == 7


def test_interrupted_run_repeats_without_duplicates(engine: Engine, fake: str) -> None:
    with engine.begin() as conn:
        tenant = ensure_tenant(conn, "acme")
    FAILING.add("page_1")
    with pytest.raises(PayloadError, match="503"):
        collect(
            engine,
            tenant.id,
            OPENAI,
            base_url=fake,
            key="admin-o",
            now=NOW,
            since=datetime(2026, 11, 20, 6, tzinfo=UTC),
            backoff=0.01,
        )
    assert _rows(engine, "openai") == 2  # the first page committed; the cursor did not move
    with engine.connect() as conn:
        assert cursor(conn, tenant.id, "openai:1h") is None
    FAILING.clear()
    collect(
        engine,
        tenant.id,
        OPENAI,
        base_url=fake,
        key="admin-o",
        now=NOW,
        since=datetime(2026, 11, 20, 6, tzinfo=UTC),
    )
    assert _rows(engine, "openai") == 6


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"data": [', "not valid JSON"),
        # A lone surrogate, which the standard json module would have read.
        (b'{"data": [], "model": "gpt-\\ud800", "has_more": false}', "not valid JSON"),
        (b"[]", "list, not an object"),
        (b'{"data": [1], "has_more": false}', "not in its documented shape"),
        (b'{"data": [{"results": []}], "has_more": false}', "not in its documented shape"),
    ],
)
def test_a_broken_page_is_a_named_error_and_the_pages_before_it_stay(
    engine: Engine, fake: str, body: bytes, says: str
) -> None:
    with engine.begin() as conn:
        tenant = ensure_tenant(conn, "acme")
    BROKEN["page_1"] = body
    since = datetime(2026, 11, 20, 6, tzinfo=UTC)
    with pytest.raises(PayloadError, match=says) as caught:
        collect(engine, tenant.id, OPENAI, base_url=fake, key="admin-o", now=NOW, since=since)
    assert caught.value.field.startswith("openai")
    assert _rows(engine, "openai") == 2  # the first page committed; the cursor did not move
    with engine.connect() as conn:
        assert cursor(conn, tenant.id, "openai:1h") is None


def test_anthropic_cache_split_and_compare(
    engine: Engine, fake: str, client: Any, auth: dict[str, str]
) -> None:
    with engine.begin() as conn:
        tenant = ensure_tenant(conn, "acme")
    collect(
        engine,
        tenant.id,
        ANTHROPIC,
        base_url=fake,
        key="admin-a",
        now=NOW,
        since=datetime(2026, 11, 20, 10, tzinfo=UTC),
    )
    with engine.connect() as conn:
        bucket = conn.execute(select(ProviderUsageBucket.__table__).limit(1)).one()
    # SEPARATE: 1500 uncached + 200 read + 500 5m + 1000 1h = 3200 input.
    assert (
        bucket.input_tokens,
        bucket.cache_read_tokens,
        bucket.cache_write_tokens,
        bucket.cache_write_1h_tokens,
    ) == (3200, 200, 1500, 1000)
    assert "workspace_id=wrk_1" in bucket.scope
    pushed = {
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "request_id": "p1",
        "occurred_at": "2026-11-20T10:15:00Z",
        "usage": {"input_tokens": 1500, "cache_read_input_tokens": 200, "output_tokens": 500},
    }
    client.post("/v1/usage", json=pushed, headers=auth)
    with engine.connect() as conn:
        [row] = compare(
            conn, tenant.id, datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC)
        )
    assert (
        row.reported_input,
        row.pushed_input,
        row.reported_cache_read,
        row.pushed_cache_read,
    ) == (6400, 1700, 400, 200)  # two provider buckets (10:00, 11:00) vs one pushed request


def test_openai_usage_api_reads_cache_writes() -> None:
    # A completions usage bucket as the API documents it, with the cache-write count it
    # reports beside the cached (read) count; input_tokens includes both.
    page = {
        "object": "page",
        "data": [
            {
                "object": "bucket",
                "start_time": 1_795_000_000,
                "end_time": 1_795_003_600,
                "results": [
                    {
                        "object": "organization.usage.completions.result",
                        "input_tokens": 12_000,
                        "input_cached_tokens": 6_000,
                        "input_cache_write_tokens": 4_096,
                        "output_tokens": 800,
                        "num_model_requests": 5,
                        "model": "gpt-5.1",
                    }
                ],
            }
        ],
        "has_more": False,
    }
    [bucket] = openai_buckets(page)
    assert (
        bucket.input_tokens,
        bucket.cache_read_tokens,
        bucket.cache_write_tokens,
        bucket.cache_write_1h_tokens,
    ) == (12_000, 6_000, 4_096, 0)
