"""The SDK helper through the real openai and anthropic clients, against a local fake
provider: usage lands in cachemeter; a dead cachemeter never breaks the application."""

from __future__ import annotations

import asyncio
import time

import anthropic
import openai
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cachemeter_client import Reporter, instrument, prefix_hash
from store.models import UsageEvent
from tests import fake_provider
from tests.factories import tenant_with_key


def _events(engine: Engine) -> list[UsageEvent]:
    with Session(engine) as session:
        return list(session.scalars(select(UsageEvent).order_by(UsageEvent.id)))


def test_openai_sync_and_stream(engine: Engine, live_url: str, provider: str) -> None:
    _, key = tenant_with_key(engine)
    reporter = Reporter(live_url, key, app="support", flush_interval=0.05)
    client = instrument(
        openai.OpenAI(base_url=f"{provider}/v1", api_key="x"), reporter, hash_prefix=True
    )
    messages = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "hi"}]
    answer = client.chat.completions.create(model="gpt-5.1", messages=messages)
    assert answer.choices[0].message.content == "secret answer"  # the app's result is untouched
    chunks = list(
        client.chat.completions.create(
            model="gpt-5.1", messages=messages, stream=True, stream_options={"include_usage": True}
        )
    )
    assert len(chunks) == 3
    client.responses.create(model="gpt-5.1", input="hi", instructions="You are terse.")
    assert reporter.flush() and reporter.dropped == 0
    events = _events(engine)
    assert [(e.input_tokens, e.cache_read_tokens, e.output_tokens) for e in events] == [
        (3000, 2048, 20),
        (3000, 2048, 20),
        (5000, 4096, 30),
    ]
    assert events[1].ttft_ms is not None and events[1].ttft_ms >= 50  # the fake waits 50 ms
    assert all(e.app == "support" and e.latency_ms for e in events)
    assert events[0].prefix_hash == prefix_hash({"messages": messages})
    assert events[2].prefix_hash == prefix_hash({"instructions": "You are terse."})
    # Never the text: the stored payload has usage and ids only.
    assert "secret" not in str(events[0].raw) and "terse" not in str(events[0].raw)
    reporter.close()


def test_anthropic_async_and_stream(engine: Engine, live_url: str, provider: str) -> None:
    _, key = tenant_with_key(engine)
    reporter = Reporter(live_url, key, app="agent", flush_interval=0.05)
    client = instrument(anthropic.AsyncAnthropic(base_url=provider, api_key="x"), reporter)

    async def calls() -> list[str]:
        message = await client.messages.create(
            model="claude-sonnet-4-6", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
        )
        stream = await client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=50,
            stream=True,
            messages=[{"role": "user", "content": "hi"}],
        )
        kinds = [event.type async for event in stream]
        return [message.content[0].text, *kinds]

    result = asyncio.run(calls())
    assert result[0] == "secret answer" and result[-1] == "message_stop"
    assert reporter.flush() and reporter.dropped == 0
    events = _events(engine)
    # 10 plain + 4000 cache reads; output 25 (the stream's last cumulative value, not 1 + 25).
    assert [(e.input_tokens, e.cache_read_tokens, e.output_tokens) for e in events] == [
        (4010, 4000, 25),
        (4010, 4000, 25),
    ]
    assert events[1].ttft_ms is not None and events[1].ttft_ms >= 50
    reporter.close()


def test_dead_cachemeter_loses_no_application_request(engine: Engine, provider: str) -> None:
    from prometheus_client import CollectorRegistry

    from cachemeter.config import Settings
    from cachemeter.server import create_app

    _, key = tenant_with_key(engine)
    cachemeter = fake_provider.LoopbackServer(
        create_app(
            Settings(secret_key="x", regression_interval_seconds=0),
            engine=engine,
            registry=CollectorRegistry(),
        )
    )
    reporter = Reporter(cachemeter.url, key, flush_interval=0.05, timeout=0.5, attempts=2)
    client = instrument(anthropic.Anthropic(base_url=provider, api_key="x"), reporter)

    def call() -> str:
        message = client.messages.create(
            model="claude-sonnet-4-6", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
        )
        return str(message.content[0].text)

    assert [call() for _ in range(5)] == ["secret answer"] * 5
    assert reporter.flush()
    cachemeter.stop()  # cachemeter goes away mid-run
    assert [call() for _ in range(7)] == ["secret answer"] * 7  # every application call still works
    reporter.close(timeout=20)
    assert (reporter.sent, reporter.dropped) == (5, 7)
    assert len(_events(engine)) == 5


def test_full_queue_drops_instead_of_blocking() -> None:
    reporter = Reporter(
        "http://127.0.0.1:9", "key", queue_size=2, flush_interval=10, attempts=1, timeout=0.2
    )
    started = time.perf_counter()
    for _ in range(50):
        reporter.record({"usage": {"prompt_tokens": 1}})
    assert time.perf_counter() - started < 1
    assert reporter.dropped >= 47
    reporter.close(timeout=5)
