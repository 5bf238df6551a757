"""The SDK helper through the real openai and anthropic clients, against a local fake
provider: every call kind's usage lands in cachemeter exactly once, with the time to the first
content token for streams; a dead cachemeter never breaks the application; what is queued at
interpreter exit is still sent."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import anthropic
import openai
import pydantic
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cachemeter_client import Reporter, instrument, prefix_hash
from cachemeter_client.instrument import is_content
from store.models import UsageEvent
from tests import fake_provider
from tests.factories import tenant_with_key


def _events(engine: Engine) -> list[UsageEvent]:
    with Session(engine) as session:
        return list(session.scalars(select(UsageEvent).order_by(UsageEvent.id)))


class Counts(NamedTuple):
    """What one stored event counted: input (cache included), cache reads, cache writes (all
    TTLs), of which 1-hour writes, output."""

    input: int
    read: int
    write: int
    write_1h: int
    output: int


def _counts(event: UsageEvent) -> Counts:
    return Counts(
        event.input_tokens,
        event.cache_read_tokens,
        event.cache_write_tokens,
        event.cache_write_1h_tokens,
        event.output_tokens,
    )


# What the fake provider serves (tests/fake_provider.py), as cachemeter must store it.
# OpenAI's input INCLUDES the cache: prompt_tokens 3000 of which 2048 read, 512 written.
CHAT = Counts(input=3000, read=2048, write=512, write_1h=0, output=20)
# Responses: input_tokens 5000 of which 4096 read, 256 written; output 30 (8 of them reasoning).
RESPONSES = Counts(input=5000, read=4096, write=256, write_1h=0, output=30)
# Anthropic's input EXCLUDES the cache: 10 plain + 4000 read + 1500 written (500 for 5 minutes,
# 1000 for an hour); output 25, the stream's last cumulative value (message_start said 1).
ANTHROPIC = Counts(input=10 + 4000 + 1500, read=4000, write=500 + 1000, write_1h=1000, output=25)

GPT, CLAUDE = "gpt-5.1", "claude-sonnet-4-6"
ASK = [{"role": "user", "content": "hi"}]


class Answer(pydantic.BaseModel):
    answer: str


# Each call kind makes one call the way an application would and returns (the answer's text,
# the provider's response id), so the test sees the application's result untouched and ties
# the stored event to this call.
Result = tuple[str, str]


def chat_create(client: Any) -> Result:
    answer = client.chat.completions.create(model=GPT, messages=ASK)
    return answer.choices[0].message.content, answer.id


def chat_create_stream(client: Any) -> Result:
    chunks = list(
        client.chat.completions.create(
            model=GPT, messages=ASK, stream=True, stream_options={"include_usage": True}
        )
    )
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices), chunks[0].id


def chat_parse(client: Any) -> Result:
    answer = client.chat.completions.parse(model=GPT, messages=ASK, response_format=Answer)
    return answer.choices[0].message.parsed.answer, answer.id


def chat_stream_helper(client: Any) -> Result:
    with client.chat.completions.stream(
        model=GPT, messages=ASK, stream_options={"include_usage": True}
    ) as stream:
        text = "".join(e.delta for e in stream if e.type == "content.delta")
        return text, stream.get_final_completion().id


def chat_raw(client: Any) -> Result:
    raw = client.chat.completions.with_raw_response.create(model=GPT, messages=ASK)
    assert raw.headers["content-type"] == "application/json"
    answer = raw.parse()
    return answer.choices[0].message.content, answer.id


def chat_raw_stream(client: Any) -> Result:
    raw = client.chat.completions.with_raw_response.create(
        model=GPT, messages=ASK, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(raw.parse())
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices), chunks[0].id


def chat_streaming_response(client: Any) -> Result:
    with client.chat.completions.with_streaming_response.create(model=GPT, messages=ASK) as raw:
        answer = raw.parse()
    return answer.choices[0].message.content, answer.id


def responses_create(client: Any) -> Result:
    response = client.responses.create(model=GPT, input="hi")
    return response.output_text, response.id


def responses_create_stream(client: Any) -> Result:
    events = list(client.responses.create(model=GPT, input="hi", stream=True))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    return text, events[-1].response.id


def responses_stream_helper(client: Any) -> Result:
    with client.responses.stream(model=GPT, input="hi") as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        return text, stream.get_final_response().id


def responses_parse(client: Any) -> Result:
    response = client.responses.parse(model=GPT, input="hi", text_format=Answer)
    return response.output_parsed.answer, response.id


def responses_raw(client: Any) -> Result:
    response = client.responses.with_raw_response.create(model=GPT, input="hi").parse()
    return response.output_text, response.id


async def achat_create(client: Any) -> Result:
    answer = await client.chat.completions.create(model=GPT, messages=ASK)
    return answer.choices[0].message.content, answer.id


async def achat_create_stream(client: Any) -> Result:
    stream = await client.chat.completions.create(
        model=GPT, messages=ASK, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices), chunks[0].id


async def achat_parse(client: Any) -> Result:
    answer = await client.chat.completions.parse(model=GPT, messages=ASK, response_format=Answer)
    return answer.choices[0].message.parsed.answer, answer.id


async def achat_stream_helper(client: Any) -> Result:
    async with client.chat.completions.stream(
        model=GPT, messages=ASK, stream_options={"include_usage": True}
    ) as stream:
        text = "".join([e.delta async for e in stream if e.type == "content.delta"])
        return text, (await stream.get_final_completion()).id


async def achat_raw(client: Any) -> Result:
    raw = await client.chat.completions.with_raw_response.create(model=GPT, messages=ASK)
    answer = raw.parse()
    return answer.choices[0].message.content, answer.id


async def achat_raw_stream(client: Any) -> Result:
    raw = await client.chat.completions.with_raw_response.create(
        model=GPT, messages=ASK, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in raw.parse()]
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices), chunks[0].id


async def achat_streaming_response(client: Any) -> Result:
    async with client.chat.completions.with_streaming_response.create(
        model=GPT, messages=ASK
    ) as raw:
        answer = await raw.parse()
    return answer.choices[0].message.content, answer.id


async def aresponses_create(client: Any) -> Result:
    response = await client.responses.create(model=GPT, input="hi")
    return response.output_text, response.id


async def aresponses_create_stream(client: Any) -> Result:
    stream = await client.responses.create(model=GPT, input="hi", stream=True)
    events = [event async for event in stream]
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    return text, events[-1].response.id


async def aresponses_stream_helper(client: Any) -> Result:
    async with client.responses.stream(model=GPT, input="hi") as stream:
        text = "".join([e.delta async for e in stream if e.type == "response.output_text.delta"])
        return text, (await stream.get_final_response()).id


async def aresponses_parse(client: Any) -> Result:
    response = await client.responses.parse(model=GPT, input="hi", text_format=Answer)
    return response.output_parsed.answer, response.id


async def aresponses_raw(client: Any) -> Result:
    raw = await client.responses.with_raw_response.create(model=GPT, input="hi")
    response = raw.parse()
    return response.output_text, response.id


def _messages(client: Any, beta: bool) -> Any:
    return client.beta.messages if beta else client.messages


def messages_create(client: Any, beta: bool = False) -> Result:
    message = _messages(client, beta).create(model=CLAUDE, max_tokens=50, messages=ASK)
    return message.content[0].text, message.id


def messages_create_stream(client: Any, beta: bool = False) -> Result:
    events = list(
        _messages(client, beta).create(model=CLAUDE, max_tokens=50, messages=ASK, stream=True)
    )
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    return text, events[0].message.id


def messages_stream_helper(client: Any, beta: bool = False) -> Result:
    # Never iterated by the application: get_final_message() reads the stream itself.
    with _messages(client, beta).stream(model=CLAUDE, max_tokens=50, messages=ASK) as stream:
        message = stream.get_final_message()
    return message.content[0].text, message.id


def messages_parse(client: Any) -> Result:
    message = client.messages.parse(model=CLAUDE, max_tokens=50, messages=ASK, output_format=Answer)
    return message.parsed_output.answer, message.id


def messages_raw(client: Any, beta: bool = False) -> Result:
    raw = _messages(client, beta).with_raw_response.create(
        model=CLAUDE, max_tokens=50, messages=ASK
    )
    message = raw.parse()
    return message.content[0].text, message.id


def messages_raw_stream(client: Any) -> Result:
    raw = client.messages.with_raw_response.create(
        model=CLAUDE, max_tokens=50, messages=ASK, stream=True
    )
    events = list(raw.parse())
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    return text, events[0].message.id


def messages_streaming_response(client: Any) -> Result:
    with client.messages.with_streaming_response.create(
        model=CLAUDE, max_tokens=50, messages=ASK
    ) as raw:
        message = raw.parse()
    return message.content[0].text, message.id


async def amessages_create(client: Any, beta: bool = False) -> Result:
    message = await _messages(client, beta).create(model=CLAUDE, max_tokens=50, messages=ASK)
    return message.content[0].text, message.id


async def amessages_create_stream(client: Any, beta: bool = False) -> Result:
    stream = await _messages(client, beta).create(
        model=CLAUDE, max_tokens=50, messages=ASK, stream=True
    )
    events = [event async for event in stream]
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    return text, events[0].message.id


async def amessages_stream_helper(client: Any, beta: bool = False) -> Result:
    async with _messages(client, beta).stream(model=CLAUDE, max_tokens=50, messages=ASK) as stream:
        message = await stream.get_final_message()
    return message.content[0].text, message.id


async def amessages_parse(client: Any) -> Result:
    message = await client.messages.parse(
        model=CLAUDE, max_tokens=50, messages=ASK, output_format=Answer
    )
    return message.parsed_output.answer, message.id


async def amessages_raw(client: Any, beta: bool = False) -> Result:
    raw = await _messages(client, beta).with_raw_response.create(
        model=CLAUDE, max_tokens=50, messages=ASK
    )
    message = await raw.parse()
    return message.content[0].text, message.id


async def amessages_raw_stream(client: Any) -> Result:
    raw = await client.messages.with_raw_response.create(
        model=CLAUDE, max_tokens=50, messages=ASK, stream=True
    )
    events = [event async for event in await raw.parse()]
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    return text, events[0].message.id


def _beta(kind: Callable[..., Any]) -> Callable[[Any], Any]:
    def call(client: Any) -> Any:
        return kind(client, beta=True)

    call.__name__ = f"beta_{kind.__name__}"
    return call


class Kind(NamedTuple):
    """One way of calling a model, the client it needs, what it must store, and whether it
    streams (only streams have a time to first token)."""

    call: Callable[[Any], Any]
    client: str
    counts: Counts
    stream: bool


KINDS = [
    Kind(chat_create, "openai", CHAT, False),
    Kind(chat_create_stream, "openai", CHAT, True),
    Kind(chat_parse, "openai", CHAT, False),
    Kind(chat_stream_helper, "openai", CHAT, True),
    Kind(chat_raw, "openai", CHAT, False),
    Kind(chat_raw_stream, "openai", CHAT, True),
    Kind(chat_streaming_response, "openai", CHAT, False),
    Kind(responses_create, "openai", RESPONSES, False),
    Kind(responses_create_stream, "openai", RESPONSES, True),
    Kind(responses_stream_helper, "openai", RESPONSES, True),
    Kind(responses_parse, "openai", RESPONSES, False),
    Kind(responses_raw, "openai", RESPONSES, False),
    Kind(achat_create, "async-openai", CHAT, False),
    Kind(achat_create_stream, "async-openai", CHAT, True),
    Kind(achat_parse, "async-openai", CHAT, False),
    Kind(achat_stream_helper, "async-openai", CHAT, True),
    Kind(achat_raw, "async-openai", CHAT, False),
    Kind(achat_raw_stream, "async-openai", CHAT, True),
    Kind(achat_streaming_response, "async-openai", CHAT, False),
    Kind(aresponses_create, "async-openai", RESPONSES, False),
    Kind(aresponses_create_stream, "async-openai", RESPONSES, True),
    Kind(aresponses_stream_helper, "async-openai", RESPONSES, True),
    Kind(aresponses_parse, "async-openai", RESPONSES, False),
    Kind(aresponses_raw, "async-openai", RESPONSES, False),
    Kind(messages_create, "anthropic", ANTHROPIC, False),
    Kind(messages_create_stream, "anthropic", ANTHROPIC, True),
    Kind(messages_stream_helper, "anthropic", ANTHROPIC, True),
    Kind(messages_parse, "anthropic", ANTHROPIC, False),
    Kind(messages_raw, "anthropic", ANTHROPIC, False),
    Kind(messages_raw_stream, "anthropic", ANTHROPIC, True),
    Kind(messages_streaming_response, "anthropic", ANTHROPIC, False),
    Kind(_beta(messages_create), "anthropic", ANTHROPIC, False),
    Kind(_beta(messages_create_stream), "anthropic", ANTHROPIC, True),
    Kind(_beta(messages_stream_helper), "anthropic", ANTHROPIC, True),
    Kind(_beta(messages_raw), "anthropic", ANTHROPIC, False),
    Kind(amessages_create, "async-anthropic", ANTHROPIC, False),
    Kind(amessages_create_stream, "async-anthropic", ANTHROPIC, True),
    Kind(amessages_stream_helper, "async-anthropic", ANTHROPIC, True),
    Kind(amessages_parse, "async-anthropic", ANTHROPIC, False),
    Kind(amessages_raw, "async-anthropic", ANTHROPIC, False),
    Kind(amessages_raw_stream, "async-anthropic", ANTHROPIC, True),
    Kind(_beta(amessages_create), "async-anthropic", ANTHROPIC, False),
    Kind(_beta(amessages_create_stream), "async-anthropic", ANTHROPIC, True),
    Kind(_beta(amessages_stream_helper), "async-anthropic", ANTHROPIC, True),
    Kind(_beta(amessages_raw), "async-anthropic", ANTHROPIC, False),
]


def _client(name: str, provider: str) -> Any:
    """A real SDK client pointed at the fake provider (no retries: one request per call)."""
    if name == "openai":
        return openai.OpenAI(base_url=f"{provider}/v1", api_key="x", max_retries=0)
    if name == "async-openai":
        return openai.AsyncOpenAI(base_url=f"{provider}/v1", api_key="x", max_retries=0)
    if name == "anthropic":
        return anthropic.Anthropic(base_url=provider, api_key="x", max_retries=0)
    return anthropic.AsyncAnthropic(base_url=provider, api_key="x", max_retries=0)


def _run(call: Callable[[Any], Any], client: Any) -> Any:
    result = call(client)
    return asyncio.run(result) if asyncio.iscoroutine(result) else result


@pytest.mark.parametrize("kind", KINDS, ids=[k.call.__name__ for k in KINDS])
def test_every_call_kind_is_reported_once(
    kind: Kind, engine: Engine, live_url: str, provider: str
) -> None:
    _, key = tenant_with_key(engine)
    reporter = Reporter(live_url, key, app="support", flush_interval=0.05)
    client = instrument(_client(kind.client, provider), reporter)
    text, response_id = _run(kind.call, client)
    assert text == fake_provider.TEXT  # the application's result is untouched
    assert reporter.flush() and reporter.dropped == 0
    # One record sent: the server would also drop a second one with the same response id, so
    # only the reporter's count shows that no helper reported the call twice.
    assert reporter.sent == 1
    [event] = _events(engine)
    assert event.request_id == response_id
    assert _counts(event) == kind.counts
    assert event.app == "support" and event.latency_ms is not None
    if kind.stream:
        # The fake sends its opening events at once and the first content token
        # FIRST_TOKEN_DELAY later: a time to first event would be far below it.
        assert event.ttft_ms is not None
        assert event.ttft_ms >= fake_provider.FIRST_TOKEN_DELAY * 1000
        assert event.latency_ms >= event.ttft_ms
    else:
        assert event.ttft_ms is None  # no stream, no first token: latency only
    # Never the text: the stored payload has usage and ids only.
    assert fake_provider.TEXT not in str(event.raw) and "answer" not in str(event.raw)
    reporter.close()


def test_prefix_hash_and_copies(engine: Engine, live_url: str, provider: str) -> None:
    _, key = tenant_with_key(engine)
    reporter = Reporter(live_url, key, flush_interval=0.05)
    client = instrument(_client("openai", provider), reporter, hash_prefix=True)
    assert instrument(client, reporter, hash_prefix=True) is client  # again: still once
    messages = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "hi"}]
    client.chat.completions.create(model=GPT, messages=messages)
    client.with_options(timeout=30).responses.create(
        model=GPT, input="hi", instructions="You are terse."
    )
    assert reporter.flush() and reporter.dropped == 0 and reporter.sent == 2
    chat, response = _events(engine)
    assert chat.prefix_hash == prefix_hash({"messages": messages})
    assert response.prefix_hash == prefix_hash({"instructions": "You are terse."})
    assert "terse" not in str(chat.raw) + str(response.raw)
    reporter.close()


def test_a_stream_closed_early_is_reported_once_on_close(
    engine: Engine, live_url: str, provider: str
) -> None:
    _, key = tenant_with_key(engine)
    reporter = Reporter(live_url, key, flush_interval=0.05)
    client = instrument(_client("anthropic", provider), reporter)
    with client.messages.stream(model=CLAUDE, max_tokens=50, messages=ASK) as stream:
        for event in stream:
            if event.type == "text":
                break  # the application stops reading at the first token
    assert reporter.flush() and reporter.sent == 1
    [event] = _events(engine)
    # What message_start said: the input is known; the output so far is message_start's 1.
    assert _counts(event) == ANTHROPIC._replace(output=1)
    assert event.ttft_ms is not None and event.ttft_ms >= fake_provider.FIRST_TOKEN_DELAY * 1000
    reporter.close()


def test_a_chat_stream_without_usage_reports_nothing(
    engine: Engine, live_url: str, provider: str
) -> None:
    # Without stream_options.include_usage OpenAI sends no usage: nothing can be counted, and
    # a record without usage would only be a rejection on the server.
    _, key = tenant_with_key(engine)
    reporter = Reporter(live_url, key, flush_interval=0.05)
    client = instrument(_client("openai", provider), reporter)
    chunks = list(client.chat.completions.create(model=GPT, messages=ASK, stream=True))
    assert len(chunks) == 3
    assert reporter.flush() and (reporter.sent, reporter.dropped) == (0, 0)
    assert _events(engine) == []
    reporter.close()


@pytest.mark.parametrize(
    ("event", "content"),
    [
        ({"type": "message_start", "message": {"usage": {"input_tokens": 1}}}, False),
        ({"type": "content_block_start", "content_block": {"type": "text", "text": ""}}, False),
        ({"type": "ping"}, False),
        ({"type": "content_block_delta", "delta": {"type": "text_delta", "text": "h"}}, True),
        (
            {"type": "content_block_delta", "delta": {"type": "thinking_delta", "thinking": "h"}},
            True,
        ),
        (
            {
                "type": "content_block_delta",
                "delta": {"type": "input_json_delta", "partial_json": '{"'},
            },
            True,
        ),
        # Anthropic opens a tool's input with an empty partial_json: no token yet.
        (
            {
                "type": "content_block_delta",
                "delta": {"type": "input_json_delta", "partial_json": ""},
            },
            False,
        ),
        (
            {"type": "content_block_delta", "delta": {"type": "signature_delta", "signature": "x"}},
            False,
        ),
        ({"type": "message_delta", "usage": {"output_tokens": 5}}, False),
        ({"type": "response.created", "response": {"id": "resp_1"}}, False),
        ({"type": "response.output_item.added", "item": {"type": "reasoning"}}, False),
        ({"type": "response.output_text.delta", "delta": "h"}, True),
        ({"type": "response.reasoning_summary_text.delta", "delta": "h"}, True),
        ({"type": "response.function_call_arguments.delta", "delta": '{"'}, True),
        ({"choices": [{"delta": {"role": "assistant", "content": ""}}]}, False),
        ({"choices": [{"delta": {"content": "h"}}]}, True),
        ({"choices": [{"delta": {"reasoning_content": "h"}}]}, True),
        ({"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"name": "f"}}]}}]}, True),
        ({"choices": [], "usage": {"prompt_tokens": 3}}, False),
    ],
)
def test_first_content_token(event: dict[str, Any], content: bool) -> None:
    assert is_content(event) is content


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


# A process that reports one record and exits at once, without flush() or close().
_EXIT_SCRIPT = """
import sys
from cachemeter_client import Reporter

reporter = Reporter(sys.argv[1], sys.argv[2], app="batch-job")
reporter.record({
    "provider": "anthropic",
    "model": "claude-sonnet-4-6",
    "request_id": "msg_exit_1",
    "usage": {"input_tokens": 7, "cache_read_input_tokens": 900, "output_tokens": 3},
})
"""


def test_records_are_flushed_at_interpreter_exit(engine: Engine, live_url: str) -> None:
    _, key = tenant_with_key(engine)
    done = subprocess.run(
        [sys.executable, "-c", _EXIT_SCRIPT, live_url, key],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # the exit flush never prints a traceback
    events = _events(engine)
    assert [(e.request_id, e.app, e.input_tokens, e.cache_read_tokens) for e in events] == [
        ("msg_exit_1", "batch-job", 907, 900)
    ]


def test_what_changes_the_price_besides_tokens_is_reported(
    engine: Engine, live_url: str, provider: str
) -> None:
    _, key = tenant_with_key(engine)
    reporter = Reporter(live_url, key, flush_interval=0.05)
    client = instrument(_client("openai", provider), reporter)
    client.chat.completions.create(
        model=GPT, messages=[{"role": "user", "content": "hi"}], service_tier="flex"
    )
    client.responses.create(model=GPT, input="hi", tools=[{"type": "web_search"}])
    assert reporter.flush() and reporter.dropped == 0 and reporter.sent == 2
    chat, response = _events(engine)
    # The tier the call was served at, and the hosted searches (an opened page is not one),
    # without the query or the page.
    assert chat.service_tier == "flex"
    assert response.tool_requests == {"web_search": 1}
    assert "private query" not in str(response.raw) and "example.com" not in str(response.raw)
    reporter.close()
