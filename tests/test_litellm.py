"""LiteLLM: the callback through the real LiteLLM (SDK and proxy) against the fake provider,
and the spend-log importer."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import litellm
import openai
import psycopg
import pytest
from litellm.caching.caching import Cache, LiteLLMCacheType
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cachemeter.cli.main import main
from cachemeter.config import Settings
from cachemeter.server import create_app
from cachemeter_client import Reporter
from cachemeter_client.litellm import CachemeterLogger
from store.models import UsageEvent
from tests import fake_provider
from tests.factories import outcome_counts, tenant_with_key

# Typed loosely: the OpenAI SDK's message types know no `cache_control`, which LiteLLM passes on.
HI: list[Any] = [{"role": "user", "content": "hi"}]
# Marks two blocks for caching, one for an hour: the fake provider then writes 1000 tokens for
# 5 minutes and 2000 for an hour besides reading 4000 (tests/fake_provider.py).
CACHED: list[Any] = [
    {
        "role": "system",
        "content": [
            {"type": "text", "text": "Rules.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Docs.", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
        ],
    },
    *HI,
]
# (provider, model, input incl. cache, cache read, cache write, of which 1h, output), as the
# fake provider serves them (tests/fake_provider.py): OpenAI's prompt_tokens include the 2048
# cached and 512 written; Anthropic's input_tokens exclude the cache, so input is 10 + 4000
# read + 1500 written (1000 for an hour), or, where blocks are marked with cache_control,
# 12 + 4000 read + 3000 written (2000 for an hour).
GPT = ("openai", "gpt-5.1", 3000, 2048, 512, 0, 20)
CLAUDE_UNMARKED = ("anthropic", "claude-sonnet-4-5", 10 + 4000 + 1500, 4000, 1500, 1000, 25)
CLAUDE_WRITE = ("anthropic", "claude-sonnet-4-5", 12 + 4000 + 3000, 4000, 3000, 2000, 25)


def _until(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _events(engine: Engine) -> list[UsageEvent]:
    with Session(engine) as session:
        return list(session.scalars(select(UsageEvent).order_by(UsageEvent.id)))


def _served(event: UsageEvent) -> tuple[str, str | None, int, int, int, int, int]:
    return (
        event.provider,
        event.model,
        event.input_tokens,
        event.cache_read_tokens,
        event.cache_write_tokens,
        event.cache_write_1h_tokens,
        event.output_tokens,
    )


@pytest.fixture
def logger(engine: Engine, live_url: str) -> Iterator[CachemeterLogger]:
    """cachemeter's callback registered with LiteLLM, reporting to the live service."""
    _, key = tenant_with_key(engine)
    logger = CachemeterLogger(Reporter(live_url, key, flush_interval=0.05))
    litellm.callbacks = [logger]
    yield logger
    # LiteLLM keeps one logger of a class: the next test's must not find this one there.
    litellm.logging_callback_manager.remove_callback_from_all_lists(logger)
    logger.close()


def test_sdk_calls_are_stored_as_the_provider_served_them(
    engine: Engine, logger: CachemeterLogger, provider: str
) -> None:
    gpt: dict[str, Any] = {"api_base": f"{provider}/v1", "api_key": "x"}
    claude: dict[str, Any] = {"api_base": provider, "api_key": "x", "max_tokens": 50}
    # What LiteLLM's proxy puts in the metadata for a virtual key with a team, and the tags.
    key = {"user_api_key_team_alias": "search", "user_api_key_alias": "search-svc"}
    answer = litellm.completion(
        model="openai/gpt-5.1", messages=HI, metadata={**key, "tags": ["prod"]}, **gpt
    )
    assert answer.choices[0].message.content == "secret answer"  # the app's result is untouched
    chunks = list(
        litellm.completion(
            model="openai/gpt-5.1",
            messages=HI,
            stream=True,
            stream_options={"include_usage": True},
            **gpt,
        )
    )
    assert chunks
    # LiteLLM runs a sync call's callbacks on a thread of its own.
    _until(lambda: logger.reported == 2)

    async def calls() -> set[str]:
        await litellm.acompletion(model="anthropic/claude-sonnet-4-5", messages=CACHED, **claude)
        stream = await litellm.acompletion(
            model="anthropic/claude-sonnet-4-5", messages=CACHED, stream=True, **claude
        )
        ids = {chunk.id async for chunk in stream}
        await litellm.acompletion(model="anthropic/claude-sonnet-4-5", messages=HI, **claude)
        return ids

    claude_stream_ids = asyncio.run(calls())
    logger.close()  # what happens at exit: LiteLLM's pending callbacks run, the queue is sent
    assert (logger.reporter.sent, logger.reporter.dropped) == (5, 0)

    gpt_id, gpt_stream_id, claude_id, claude_stream_id, claude_read_id = fake_provider.SERVED
    # LiteLLM replaces Anthropic's id with one of its own on a stream and keeps no copy of it:
    # the stream is reported under the id LiteLLM gave the application.
    assert len(claude_stream_ids) == 1 and claude_stream_id not in claude_stream_ids
    expected = {
        gpt_id: GPT,
        gpt_stream_id: GPT,
        claude_id: CLAUDE_WRITE,
        next(iter(claude_stream_ids)): CLAUDE_WRITE,
        claude_read_id: CLAUDE_UNMARKED,
    }
    events = {event.request_id: event for event in _events(engine)}
    assert {request_id: _served(event) for request_id, event in events.items()} == expected
    first = events[gpt_id]
    assert (first.team, first.app, first.tags) == ("search", "search-svc", {"prod": "true"})
    assert all(e.team is None and e.tags == {} for e in events.values() if e is not first)
    # Time to first token on streams only (the fake waits 50 ms before its first event).
    streamed = {gpt_stream_id, next(iter(claude_stream_ids))}
    assert all((e.ttft_ms or 0) >= 50 for r, e in events.items() if r in streamed)
    assert all(e.ttft_ms is None for r, e in events.items() if r not in streamed)
    assert all(e.source == "push" and e.latency_ms for e in events.values())
    assert "secret" not in str(first.raw)  # usage and ids only, never the text


def test_litellm_response_cache_hits_are_skipped(
    engine: Engine, logger: CachemeterLogger, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # LiteLLM's own response cache answers the second call: no provider call, no prompt cache.
    monkeypatch.setattr(litellm, "cache", Cache(type=LiteLLMCacheType.LOCAL))
    gpt: dict[str, Any] = {"api_base": f"{provider}/v1", "api_key": "x", "caching": True}
    for _ in range(2):
        litellm.completion(model="openai/gpt-5.1", messages=HI, **gpt)
    _until(lambda: logger.reported == 1)
    logger.close()
    _until(lambda: logger.skipped_cache_hits == 1)
    assert len(fake_provider.SERVED) == 1 and logger.reported == 1
    assert [e.request_id for e in _events(engine)] == fake_provider.SERVED


# One LiteLLM SDK call, then the interpreter exits: the success callback of an async call runs
# only in LiteLLM's exit handler, so the record exists only after the exit began.
EXITING_SCRIPT = """
import asyncio, sys
import httpx
import litellm
import openai
from cachemeter_client.litellm import handler

litellm.callbacks = [handler]
asyncio.run(litellm.acompletion(
    model="anthropic/claude-sonnet-4-5", messages=[{"role": "user", "content": "hi"}],
    api_base=sys.argv[1], api_key="x", max_tokens=5,
))
"""


def test_what_is_reported_just_before_exit_is_delivered(
    engine: Engine, live_url: str, provider: str
) -> None:
    _, key = tenant_with_key(engine)
    env = {**os.environ, "CACHEMETER_URL": live_url, "CACHEMETER_API_KEY": key}
    done = subprocess.run(
        [sys.executable, "-c", EXITING_SCRIPT, provider],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert [(e.request_id, _served(e)) for e in _events(engine)] == [
        (fake_provider.SERVED[0], CLAUDE_UNMARKED)
    ]


# The LiteLLM proxy's virtual keys live in its database; without one, its custom auth hook
# gives a key the same identity: the alias, team id and team alias the metadata then carries.
CUSTOM_AUTH = """
from litellm.proxy._types import UserAPIKeyAuth

async def user_api_key_auth(request, api_key):
    if api_key == "sk-search":
        return UserAPIKeyAuth(
            api_key=api_key, key_alias="search-svc", team_id="team-123", team_alias="search"
        )
    return UserAPIKeyAuth(api_key=api_key)
"""
PROXY_CONFIG = """
model_list:
  - model_name: gpt
    litellm_params: {{model: openai/gpt-5.1, api_base: "{provider}/v1", api_key: x}}
  - model_name: claude
    litellm_params: {{model: anthropic/claude-sonnet-4-5, api_base: "{provider}", api_key: x}}
litellm_settings:
  callbacks: cachemeter_client.litellm.handler
general_settings:
  master_key: sk-{master}
  custom_auth: custom_auth.user_api_key_auth
"""


class _Slow:
    """cachemeter answering each report a second late: when the proxy is stopped, what it
    reported last is still queued or on its way."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/usage":
            await asyncio.sleep(1)
        await self.app(scope, receive, send)


@dataclass(frozen=True)
class _Proxy:
    process: subprocess.Popen[bytes]
    url: str


@pytest.fixture
def proxy(engine: Engine, provider: str, tmp_path: Path) -> Iterator[_Proxy]:
    """The real LiteLLM proxy (`litellm --config`) on a loopback port, cachemeter's callback
    in its config, the fake provider behind it; stopped (SIGTERM) by the test."""
    _, key = tenant_with_key(engine)
    app = create_app(
        Settings(secret_key="live", regression_interval_seconds=0),
        engine=engine,
        registry=CollectorRegistry(),
    )
    cachemeter = fake_provider.LoopbackServer(_Slow(app))
    live_url = cachemeter.url
    (tmp_path / "custom_auth.py").write_text(CUSTOM_AUTH)
    config = tmp_path / "config.yaml"
    config.write_text(PROXY_CONFIG.format(provider=provider, master="0" * 48))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {**os.environ, "CACHEMETER_URL": live_url, "CACHEMETER_API_KEY": key}
    log = (tmp_path / "proxy.log").open("w")
    command = [str(Path(sys.executable).with_name("litellm")), "--config", str(config)]
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, (tmp_path / "proxy.log").read_text()[-4000:]
        assert time.monotonic() < deadline, "the LiteLLM proxy did not start"
        try:
            if httpx.get(f"{url}/health/liveliness", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    yield _Proxy(process, url)
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)
    log.close()
    cachemeter.stop()


def test_the_proxy_reports_what_the_provider_served(engine: Engine, proxy: _Proxy) -> None:
    base_url = f"{proxy.url}/v1"
    search = openai.OpenAI(base_url=base_url, api_key="sk-search")
    other = openai.OpenAI(base_url=base_url, api_key="sk-other")
    answer = search.chat.completions.create(
        model="gpt", messages=HI, extra_body={"metadata": {"tags": ["prod"]}}
    )
    assert answer.choices[0].message.content == "secret answer"
    chunks = list(
        search.chat.completions.create(
            model="claude",
            messages=CACHED,
            max_tokens=50,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    other.chat.completions.create(model="claude", messages=HI, max_tokens=50)
    # Stopped as an orchestrator stops it: what it holds is delivered as it shuts down (after
    # shutting down, uvicorn ends the process by the signal's default action).
    proxy.process.send_signal(signal.SIGTERM)
    assert proxy.process.wait(timeout=60) == -signal.SIGTERM

    gpt_id, claude_stream_id, claude_id = fake_provider.SERVED
    stream_ids = {chunk.id for chunk in chunks}
    assert answer.id == gpt_id and len(stream_ids) == 1 and claude_stream_id not in stream_ids
    events = {event.request_id: event for event in _events(engine)}
    assert {request_id: _served(event) for request_id, event in events.items()} == {
        gpt_id: GPT,
        next(iter(stream_ids)): CLAUDE_WRITE,
        claude_id: CLAUDE_UNMARKED,
    }
    # The virtual key's team and alias; the request's own tag, not the User-Agent LiteLLM adds.
    assert {r: (e.team, e.app, e.tags) for r, e in events.items()} == {
        gpt_id: ("search", "search-svc", {"prod": "true"}),
        next(iter(stream_ids)): ("search", "search-svc", {}),
        claude_id: (None, None, {}),
    }
    assert all(e.reported_model == e.model for e in events.values())  # no `openai/` prefix


SPEND_LOGS = """CREATE TABLE "LiteLLM_SpendLogs" (request_id text PRIMARY KEY,
    "startTime" timestamp,
    "endTime" timestamp, "completionStartTime" timestamp, model text, model_group text,
    custom_llm_provider text, spend double precision, prompt_tokens int, completion_tokens int,
    metadata jsonb, cache_hit text, request_tags jsonb, team_id text, end_user text)"""


def test_spend_logs_from_postgres_and_csv(
    cli_db: str,
    engine: Engine,
    fresh_database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dsn = fresh_database.replace("postgresql+psycopg://", "postgresql://")
    rows = [
        (
            "s1",
            "2026-11-20 10:00:00",
            "2026-11-20 10:00:02",
            "2026-11-20 10:00:00.4",
            "gpt-5.1",
            "gpt",
            "openai",
            0.01,
            3000,
            20,
            json.dumps(
                {
                    "usage_object": {
                        "prompt_tokens": 3000,
                        "completion_tokens": 20,
                        "prompt_tokens_details": {"cached_tokens": 2048},
                    }
                }
            ),
            "False",
            json.dumps(["batch", "User-Agent: curl", "User-Agent: curl/8.5.0"]),
            "team-a",
            None,
        ),
        (
            "s2",
            "2026-11-20 10:01:00",
            "2026-11-20 10:01:01",
            "2026-11-20 10:01:01",
            "gpt-5.1",
            "gpt",
            "openai",
            0.0,
            1200,
            10,
            "{}",
            "True",
            "[]",
            "team-a",
            None,
        ),
        (
            "s3",
            "2026-11-20 10:02:00",
            "2026-11-20 10:02:03",
            "2026-11-20 10:02:03",
            "gpt-5.1",
            "gpt",
            "openai",
            0.02,
            1500,
            30,
            "{}",
            "False",
            "[]",
            "team-b",
            "u1",
        ),
    ]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SPEND_LOGS)
        for row in rows:
            conn.execute(
                f'INSERT INTO "LiteLLM_SpendLogs" VALUES ({", ".join(["%s"] * 13)}, %s, %s)',
                row,
            )
    assert main(["ingest-litellm", "--dsn", dsn, "--tenant", "acme"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "accepted": 2,
        "duplicates": 0,
        "rejected": 0,
        "skipped_cache_hits": 1,
    }
    events = {e.request_id: e for e in _events(engine)}
    s1 = events["s1"]
    assert (s1.input_tokens, s1.cache_read_tokens, s1.team, s1.source) == (
        3000,
        2048,
        "team-a",
        "litellm",
    )
    assert s1.ttft_ms == pytest.approx(400.0)
    assert s1.tags == {"batch": "true"}  # the tag set, not those LiteLLM made of headers
    assert events["s3"].input_tokens == 1500 and events["s3"].cache_read_tokens == 0
    assert main(["ingest-litellm", "--dsn", dsn, "--tenant", "acme"]) == 0
    assert json.loads(capsys.readouterr().out)["duplicates"] == 2
    # The second import re-sent s1 and s3: kept as two duplicates of source litellm.
    assert outcome_counts(engine) == {("litellm", "duplicate", "retry"): 2}

    export = tmp_path / "spend.csv"
    with export.open("w", newline="") as out:
        writer = csv.DictWriter(
            out,
            fieldnames=[
                "request_id",
                "startTime",
                "endTime",
                "model",
                "custom_llm_provider",
                "spend",
                "prompt_tokens",
                "completion_tokens",
                "cache_hit",
                "team_id",
            ],
        )
        writer.writeheader()
        writer.writerow(
            {
                "request_id": "c1",
                "startTime": "2026-11-21T08:00:00",
                "endTime": "2026-11-21T08:00:01",
                "model": "gpt-5.1",
                "custom_llm_provider": "openai",
                "spend": "0.001",
                "prompt_tokens": "900",
                "completion_tokens": "5",
                "cache_hit": "False",
                "team_id": "t",
            }
        )
    assert main(["ingest-litellm", str(export), "--tenant", "acme"]) == 0
    assert json.loads(capsys.readouterr().out)["accepted"] == 1
    # A row LiteLLM never wrote (its counts are not numbers) is refused alone, naming it; a
    # row whose metadata nests past the stack is read without it.
    odd = tmp_path / "odd.csv"
    with odd.open("w", newline="") as out:
        writer = csv.DictWriter(
            out, fieldnames=["request_id", "model", "prompt_tokens", "metadata"]
        )
        writer.writeheader()
        writer.writerow({"request_id": "bad", "model": "gpt-5.1", "prompt_tokens": "lots"})
        writer.writerow(
            {
                "request_id": "deep",
                "model": "gpt-5.1",
                "prompt_tokens": "7",
                "metadata": "[" * 10**5,
            }
        )
    assert main(["ingest-litellm", str(odd), "--tenant", "acme"]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {
        "accepted": 1,
        "duplicates": 0,
        "rejected": 1,
        "skipped_cache_hits": 0,
    }
    assert "rejected bad: not a spend log: invalid literal for int()" in captured.err
    assert (
        main(
            ["ingest-litellm", "--dsn", "postgresql://nobody@127.0.0.1:1/none", "--tenant", "acme"]
        )
        == 2
    )
    assert "cannot read LiteLLM spend logs" in capsys.readouterr().err


def test_the_server_keeps_the_earlier_import_paths() -> None:
    # Proxy configs name `cachemeter.litellm.handler`; server-side code `cachemeter.client`.
    import cachemeter.client
    import cachemeter.litellm
    import cachemeter_client.litellm

    assert cachemeter.litellm.handler is cachemeter_client.litellm.handler
    assert cachemeter.client.Reporter is Reporter
