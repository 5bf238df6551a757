"""The real clients, end to end: the Anthropic SDK's own tracing, traceloop's instrumentors,
openlit and the Langfuse SDK, each run in a subprocess (in the venv that has its pinned
version) against the scripted fake provider on loopback, exporting to a live cachemeter. What
cachemeter stored is checked against the fake provider's own log of what it served."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from store.models import UsageEvent
from tests.factories import tenant_with_key
from tests.fake_provider import LoopbackServer
from tests.scripted_provider import FIRST_TOKEN_DELAY, ScriptedProvider

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = Path(__file__).resolve().parent / "clients"
# openlit 1.45 needs anthropic < 1 and openai < 3, older than the SDKs the rest is tested on:
# it gets a venv of its own, built once (ignored by git).
OPENLIT_VENV = ROOT / ".venv-clients" / "openlit"
# The OpenTelemetry family at one release every openlit dependency has (falcon's newest is
# 0.66b1), so the resolver need not search.
OPENLIT_PINS = (
    "openlit==1.45.0",
    "anthropic==0.125.0",
    "opentelemetry-api==1.45.1",
    "opentelemetry-sdk==1.45.1",
    "opentelemetry-instrumentation==0.66b1",
    "opentelemetry-semantic-conventions==0.66b1",
)


@pytest.fixture
def provider() -> Iterator[tuple[ScriptedProvider, str]]:
    fake = ScriptedProvider()
    server = LoopbackServer(fake.app)
    yield fake, server.url
    server.stop()


def _run(python: str, script: str, live_url: str, key: str, provider_url: str, **extra: str) -> str:
    """Run a client script; its standard error (what the client said of its exports)."""
    env = {
        **os.environ,
        **extra,
        "CM_URL": live_url,
        "CM_KEY": key,
        "PROVIDER_URL": provider_url,
        # No telemetry of the tools themselves leaves the machine.
        "TRACELOOP_TELEMETRY": "false",
        "OTEL_SDK_DISABLED": "false",
    }
    done = subprocess.run(
        [python, str(CLIENTS / script)],
        env=env,
        cwd=CLIENTS,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stderr


def _served_and_stored(
    engine: Engine,
    live_url: str,
    provider: tuple[ScriptedProvider, str],
    script: str,
    python: str = sys.executable,
) -> tuple[ScriptedProvider, list[Any]]:
    """Run a client script against the fake provider; what it served, what cachemeter stored."""
    fake, url = provider
    _, key = tenant_with_key(engine)
    said = _run(python, script, live_url, key, url)
    # An exporter that failed to deliver (a 404 for openlit's logs, say) says so here.
    assert "Failed to export" not in said and "404" not in said, said[-4000:]
    return fake, _events(engine)


def _events(engine: Engine) -> list[Any]:
    with Session(engine) as session:
        return list(session.scalars(select(UsageEvent).order_by(UsageEvent.id)))


def _totals(events: list[Any]) -> dict[str, int]:
    return {
        "requests": len(events),
        "input": sum(e.input_tokens for e in events),
        "read": sum(e.cache_read_tokens for e in events),
        "write": sum(e.cache_write_tokens for e in events),
        "write_1h": sum(e.cache_write_1h_tokens for e in events),
        "output": sum(e.output_tokens for e in events),
    }


def _check_ttft(events: list[Any], served: list[dict[str, Any]]) -> None:
    by_id = {e.request_id: e for e in events}
    for call in served:
        event = by_id[call["id"]]
        if call["stream"]:
            # The provider waited before the first content token: nothing can report less.
            assert event.ttft_ms is not None and event.ttft_ms >= FIRST_TOKEN_DELAY * 1000
            # ttft comes from the SDK's clock and latency from the span's start and end, which
            # the instrumentor takes from another clock: they agree to within a millisecond,
            # not exactly (0.17 ms apart once).
            assert event.latency_ms is not None and event.latency_ms >= event.ttft_ms - 1


def test_anthropic_sdk_native_tracing(
    engine: Engine, live_url: str, provider: tuple[ScriptedProvider, str]
) -> None:
    fake, events = _served_and_stored(engine, live_url, provider, "anthropic_native.py")
    # 3 writes of 1,500 (2 with 1,000 for one hour), 3 reads of 4,096, 21-26 uncached.
    assert (
        _totals(events)
        == fake.log.totals()
        == {
            "requests": 6,
            "input": 21 + 22 + 23 + 24 + 25 + 26 + 3 * 4096 + 3 * 1500,
            "read": 3 * 4096,
            "write": 3 * 1500,
            "write_1h": 2 * 1000,
            "output": 6 * 12,
        }
    )
    assert {e.request_id for e in events} == {c["id"] for c in fake.log.calls}
    _check_ttft(events, fake.log.calls)


def test_traceloop_beside_the_native_tracing_keeps_one_complete_record(
    engine: Engine, live_url: str, provider: tuple[ScriptedProvider, str]
) -> None:
    fake, events = _served_and_stored(engine, live_url, provider, "traceloop_anthropic.py")
    # Two spans per call, one record each, with the writes and their 1-hour split.
    assert _totals(events) == fake.log.totals()
    assert {e.request_id for e in events} == {c["id"] for c in fake.log.calls}


def test_traceloop_openai_instrumentor(
    engine: Engine, live_url: str, provider: tuple[ScriptedProvider, str]
) -> None:
    fake, events = _served_and_stored(engine, live_url, provider, "traceloop_openai.py")
    # OpenAI's shape has no writes: the prompt totals include the reads.
    expected = {**fake.log.totals(), "write": 0, "write_1h": 0}
    expected["input"] = sum(c["input"] for c in fake.log.calls)
    assert _totals(events) == expected
    assert {e.provider for e in events} == {"openai"}


def test_langfuse_sdk_export_lands_completely(
    engine: Engine, live_url: str, provider: tuple[ScriptedProvider, str]
) -> None:
    fake, events = _served_and_stored(engine, live_url, provider, "langfuse_sdk.py")
    chats = [e for e in events if e.provider == "openai"]
    by_hand = [e for e in events if e.provider != "openai"]
    assert len(chats) == len(fake.log.calls) == 6
    assert sum(e.input_tokens for e in chats) == sum(c["input"] for c in fake.log.calls)
    assert sum(e.cache_read_tokens for e in chats) == sum(c["read"] for c in fake.log.calls)
    assert sum(e.output_tokens for e in chats) == sum(c["output"] for c in fake.log.calls)
    # Langfuse's own keys: `input` leaves the cache out; 21 + 4,096 + 1,500 in all.
    [hand] = by_hand
    assert (hand.input_tokens, hand.cache_read_tokens, hand.cache_write_tokens) == (
        5617,
        4096,
        1500,
    )
    assert hand.output_tokens == 12
    assert hand.model == "claude-sonnet-4-5"
    assert hand.reported_cost == Decimal("0.0123")


@pytest.fixture(scope="session")
def openlit_python() -> str:
    python = OPENLIT_VENV / "bin" / "python"
    stamp = OPENLIT_VENV / ".installed"
    if not stamp.exists() or stamp.read_text() != " ".join(OPENLIT_PINS):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(OPENLIT_VENV)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *OPENLIT_PINS,
            ],
            check=True,
            timeout=900,
        )
        stamp.write_text(" ".join(OPENLIT_PINS))
    return str(python)


def test_openlit_anthropic_spans_are_stored_not_rejected(
    engine: Engine, live_url: str, provider: tuple[ScriptedProvider, str], openlit_python: str
) -> None:
    fake, events = _served_and_stored(
        engine, live_url, provider, "openlit_anthropic.py", openlit_python
    )
    # openlit puts Anthropic's raw (cache-exclusive) input_tokens in gen_ai.usage.input_tokens
    # and emits no TTL split: the totals are the provider's, the 1-hour part is not known.
    assert _totals(events) == {**fake.log.totals(), "write_1h": 0}


def test_opentelemetry_openai_v2_reports_no_cache_counts(
    engine: Engine, live_url: str, provider: tuple[ScriptedProvider, str]
) -> None:
    fake, events = _served_and_stored(engine, live_url, provider, "openai_v2.py")
    # It emits input and output tokens but no cache attribute at all: the reads the provider
    # served (3 x 4,096) cannot be known from its spans (README: OpenTelemetry).
    totals = fake.log.totals()
    assert _totals(events) == {**totals, "read": 0, "write": 0, "write_1h": 0}


def test_traceloop_alone_is_stored_as_it_reports(
    engine: Engine,
    live_url: str,
    provider: tuple[ScriptedProvider, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_OPEN_TELEMETRY", "false")  # the SDK's own tracing off
    fake, events = _served_and_stored(engine, live_url, provider, "traceloop_anthropic.py")
    streamed = sum(c["stream"] for c in fake.log.calls)
    # traceloop emits no TTL split, and adds message_start's output token (1) to each stream's
    # final count: what it emitted is stored (README: OpenTelemetry).
    assert _totals(events) == {
        **fake.log.totals(),
        "write_1h": 0,
        "output": fake.log.totals()["output"] + streamed,
    }


def test_langfuse_and_a_second_exporter_both_deliver(engine: Engine, live_url: str) -> None:
    # Two tenants stand for the two destinations: Langfuse's exporter (its host and keys) and
    # the exporter added beside it.
    first, key = tenant_with_key(engine, "langfuse-side")
    second, key_2 = tenant_with_key(engine, "second-side")
    _run(sys.executable, "langfuse_dual.py", live_url, key, "http://127.0.0.1:9", CM_KEY_2=key_2)
    events = _events(engine)
    assert sorted((e.tenant_id, e.input_tokens, e.output_tokens) for e in events) == sorted(
        [(first.id, 30, 5), (second.id, 30, 5)]
    )
