"""Wrap an `openai` or `anthropic` client so every call's usage (with TTFT and latency) is
handed to a Reporter.

The client's one door to the API, its `request` method, is wrapped: every call kind (create,
parse, the stream helpers, `beta.*`, `with_raw_response`, `with_streaming_response`, sync or
async) makes exactly one such request per provider call, so each call is reported once,
whichever helper made it. Streams stay the SDK's own objects: only their iterator is wrapped.

No prompt or completion text is ever sent: only usage objects, ids, model names and
(optionally) a SHA-256 of the stable prompt prefix, computed locally.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cachemeter_client.reporter import Reporter

__all__ = ["instrument", "is_content", "prefix_hash"]

# The POST paths that run a model, by SDK (the end of the path: Azure and proxies prefix it).
# Everything else the client sends (retrieve, list, count_tokens, batches, files) is not a call.
_GENERATION_PATHS = {
    "openai": ("/chat/completions", "/responses"),
    "anthropic": ("/messages",),
}
# Keys of a chat chunk's `delta` that carry generated tokens (`role` alone does not).
_CHAT_CONTENT = (
    "content",
    "refusal",
    "reasoning_content",
    "reasoning",
    "tool_calls",
    "function_call",
    "audio",
)
# Fields of an Anthropic `content_block_delta` that carry generated tokens; a
# `signature_delta` (the thinking block's signature) carries none.
_ANTHROPIC_CONTENT = ("text", "partial_json", "thinking", "citation")


def _field(obj: Any, name: str) -> Any:
    """`obj[name]` of a mapping or `obj.name` of an SDK model; None when absent."""
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _given(value: Any) -> Any:
    """None for the SDKs' "not given" sentinels (`omit`, `NOT_GIVEN`), kept in some bodies."""
    return None if type(value).__name__ in ("Omit", "NotGiven") else value


def prefix_hash(kwargs: Mapping[str, Any]) -> str | None:
    """SHA-256 of the stable prefix of a request (system prompt, instructions, tools), computed
    locally; the text itself is never sent."""
    parts: list[Any] = [
        _given(kwargs.get("system")),
        _given(kwargs.get("instructions")),
        _given(kwargs.get("tools")),
    ]
    messages = _given(kwargs.get("messages")) or []
    parts += [
        m for m in messages if isinstance(m, dict) and m.get("role") in ("system", "developer")
    ]
    if not any(parts):
        return None
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def is_content(event: Any) -> bool:
    """Whether a stream event carries the first generated token: a text, tool-call (arguments,
    input_json) or reasoning/thinking delta. Opening events (`message_start`,
    `response.created`, a role-only chat chunk), pings and usage-only events do not."""
    kind = _field(event, "type")
    if kind == "content_block_delta":  # Anthropic
        delta = _field(event, "delta")
        return any(_field(delta, key) for key in _ANTHROPIC_CONTENT)
    if isinstance(kind, str) and kind.startswith("response.") and kind.endswith(".delta"):
        return bool(_field(event, "delta"))  # Responses: output_text, reasoning, arguments, …
    for choice in _field(event, "choices") or ():  # Chat Completions
        delta = _field(choice, "delta")
        if delta is not None and any(_field(delta, key) for key in _CHAT_CONTENT):
            return True
    return False


def _dump(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", warnings=False)
    return value


def _minimal(body: Any) -> dict[str, Any]:
    """Ids, model and usage of a response or event (a mapping or an SDK model): never its
    content. Only these fields are read, so a long answer is never serialised."""
    out: dict[str, Any] = {}
    # service_tier: OpenAI reports the tier it served at beside the usage, and it is priced.
    for key in ("id", "object", "type", "model", "usage", "x_groq", "service_tier"):
        value = _field(body, key)
        if value is not None:
            out[key] = _dump(value)
    calls = _hosted_tool_calls(_field(body, "output"))
    if calls:
        out["output"] = calls
    for nested in ("response", "message"):
        value = _field(body, nested)
        if isinstance(value, Mapping) or hasattr(value, "model_dump"):
            out[nested] = _minimal(value)
    return out


# Responses output items billed per call (web and file searches): their kind and action only.
_HOSTED_TOOLS = ("web_search_call", "file_search_call")


def _hosted_tool_calls(output: Any) -> list[dict[str, Any]]:
    """The hosted-tool calls among a response's output items, without their content."""
    calls = []
    for item in output if isinstance(output, list) else ():
        kind = _field(item, "type")
        if kind in _HOSTED_TOOLS:
            action = _field(_field(item, "action"), "type")
            calls.append({"type": kind, **({"action": {"type": action}} if action else {})})
    return calls


def _kept(event: Any) -> bool:
    """Stream events that say what the call used: usage, or the response/message they open."""
    return bool(
        _field(event, "usage")
        or _field(event, "type") in ("message_start", "message_delta")
        or _field(event, "response") is not None
    )


def _has_usage(payload: Any) -> bool:
    if isinstance(payload, list):
        return any(_has_usage(item) for item in payload)
    return isinstance(payload, dict) and bool(
        payload.get("usage")
        or payload.get("x_groq")
        or _has_usage(payload.get("response"))
        or _has_usage(payload.get("message"))
    )


@dataclass
class _Settings:
    """What an instrumented client reports to; shared with its copies (`with_options`)."""

    sdk: str
    reporter: Reporter
    provider: str
    hash_prefix: bool


class _Call:
    """One model call: when it started, its first content token, its usage; reported once."""

    def __init__(self, settings: _Settings, body: Mapping[str, Any]) -> None:
        self.started = time.perf_counter()
        self.settings = settings
        self.model = _given(body.get("model"))
        self.prefix = prefix_hash(body) if settings.hash_prefix else None
        self.events: list[dict[str, Any]] = []
        self.first: float | None = None
        self.done = False
        self.adopted = False

    def note(self, event: Any) -> None:
        """One stream event, as the application receives it."""
        try:
            if self.first is None and is_content(event):
                self.first = time.perf_counter()
            if _kept(event):
                self.events.append(_minimal(event))
        except Exception:  # an event of a shape never seen: the stream itself goes on
            pass

    def finish(self, payload: Any = None) -> None:
        """Report the call (a response, or the stream's noted events); later calls do nothing."""
        if self.done:
            return
        self.done = True
        reporter = self.settings.reporter
        try:
            payload = payload if payload is not None else self.events
            if not _has_usage(payload):
                return  # nothing to count (a queued background response, a stream cut early)
            record: dict[str, Any] = {
                "provider": self.settings.provider,
                "response": payload,
                "occurred_at": datetime.now(UTC).isoformat(),
                "latency_ms": round((time.perf_counter() - self.started) * 1000, 3),
            }
            if self.first is not None:
                record["ttft_ms"] = round((self.first - self.started) * 1000, 3)
            if self.model:
                record["model"] = str(self.model)
            if self.prefix:
                record["prefix_hash"] = self.prefix
            reporter.record(record)
        except Exception:
            reporter.count_dropped(1)

    def observe(self, result: Any, stream: bool) -> Any:
        """Note what the SDK's request returned; returns it unchanged."""
        try:
            if hasattr(result, "http_response") and hasattr(result, "parse"):
                self._raw(result, stream)
            elif stream:
                self.adopt(result)
            else:
                self.finish(_minimal(result))
        except Exception:
            self.done = True
            self.settings.reporter.count_dropped(1)
        return result

    def adopt(self, stream: Any) -> None:
        """Wrap an SDK Stream's iterator (and close) so its events pass through `note`."""
        if self.adopted:
            return  # a raw response parsed twice gives the same call's stream again
        self.adopted = True
        inner = stream._iterator  # every way of reading the stream (helpers too) reads this
        close = stream.close
        if hasattr(inner, "__anext__"):
            stream._iterator = self._aiterate(inner)

            async def aclose() -> None:
                try:
                    await close()
                finally:
                    self.finish()

            stream.close = aclose
        else:
            stream._iterator = self._iterate(inner)

            def sclose() -> None:
                try:
                    close()
                finally:
                    self.finish()

            stream.close = sclose

    def _iterate(self, inner: Iterator[Any]) -> Iterator[Any]:
        try:
            for event in inner:
                self.note(event)
                yield event
        finally:
            self.finish()
            if hasattr(inner, "close"):
                inner.close()  # what dropping the SDK's own iterator would do: close the body

    async def _aiterate(self, inner: AsyncIterator[Any]) -> AsyncIterator[Any]:
        try:
            async for event in inner:
                self.note(event)
                yield event
        finally:
            self.finish()
            if hasattr(inner, "aclose"):
                await inner.aclose()

    def _raw(self, raw: Any, stream: bool) -> None:
        """`with_raw_response` / `with_streaming_response`: the usage is in the body, read now
        or when the application reads it; a stream is adopted when `parse()` makes it."""
        if stream:
            parse = raw.parse
            if inspect.iscoroutinefunction(parse):

                async def aparse(*args: Any, **kwargs: Any) -> Any:
                    parsed = await parse(*args, **kwargs)
                    self._adopt_quietly(parsed)
                    return parsed

                raw.parse = aparse
            else:

                def sparse(*args: Any, **kwargs: Any) -> Any:
                    parsed = parse(*args, **kwargs)
                    self._adopt_quietly(parsed)
                    return parsed

                raw.parse = sparse
            return
        if self._from_body(raw.http_response):
            return
        read = raw.read  # not read yet (with_streaming_response): report once it is
        if inspect.iscoroutinefunction(read):

            async def aread() -> Any:
                data = await read()
                self._from_body(raw.http_response)
                return data

            raw.read = aread
        else:

            def sread() -> Any:
                data = read()
                self._from_body(raw.http_response)
                return data

            raw.read = sread

    def _adopt_quietly(self, parsed: Any) -> None:
        try:
            if hasattr(parsed, "_iterator"):
                self.adopt(parsed)
        except Exception:
            self.settings.reporter.count_dropped(1)

    def _from_body(self, response: Any) -> bool:
        """Report from a read body; False when the body is not read yet."""
        try:
            content = response.content
        except Exception:  # the HTTP library's "response not read"
            return False
        try:
            body = json.loads(content)
        except ValueError:
            body = None
        self.finish(_minimal(body) if isinstance(body, Mapping) else None)
        return True


def _call_for(settings: _Settings, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Call | None:
    """A _Call when the request runs a model, else None (the SDK's `request(cast_to,
    options, *, stream, stream_cls)`)."""
    try:
        options = kwargs["options"] if "options" in kwargs else args[1]
        if str(options.method).lower() != "post":
            return None
        path = urlsplit(str(options.url)).path.rstrip("/")
        if not path.endswith(_GENERATION_PATHS[settings.sdk]):
            return None
        body = options.json_data
        return _Call(settings, body if isinstance(body, Mapping) else {})
    except Exception:
        return None


def _wrap(client: Any, settings: _Settings) -> Any:
    original = client.request
    if inspect.iscoroutinefunction(original):

        async def arequest(*args: Any, **kwargs: Any) -> Any:
            call = _call_for(settings, args, kwargs)
            result = await original(*args, **kwargs)
            return result if call is None else call.observe(result, bool(kwargs.get("stream")))

        client.request = arequest
    else:

        def request(*args: Any, **kwargs: Any) -> Any:
            call = _call_for(settings, args, kwargs)
            result = original(*args, **kwargs)
            return result if call is None else call.observe(result, bool(kwargs.get("stream")))

        client.request = request

    copy = client.copy

    def copied(*args: Any, **kwargs: Any) -> Any:
        return _wrap(copy(*args, **kwargs), settings)

    # `with_options` is `copy`: a copy reports to the same reporter.
    client.copy = client.with_options = copied
    client._cachemeter_settings = settings
    return client


def instrument(
    client: Any, reporter: Reporter, *, hash_prefix: bool = False, provider: str | None = None
) -> Any:
    """Report the usage of every model call `client` makes (OpenAI/AsyncOpenAI chat
    completions and responses, Anthropic/AsyncAnthropic messages and beta messages, in every
    helper); returns the same client. `provider` names the real provider when an
    OpenAI-compatible client points elsewhere (e.g. "groq"). Instrumenting a client again
    changes where and how it reports, never makes it report twice."""
    sdk = type(client).__module__.split(".")[0]
    if sdk not in _GENERATION_PATHS:
        raise TypeError(
            f"instrument() wraps openai and anthropic clients, not {type(client).__name__}"
        )
    settings = _Settings(sdk, reporter, provider or sdk, hash_prefix)
    current = getattr(client, "_cachemeter_settings", None)
    if isinstance(current, _Settings):
        current.reporter, current.provider, current.hash_prefix = (
            reporter,
            settings.provider,
            hash_prefix,
        )
        return client
    return _wrap(client, settings)
