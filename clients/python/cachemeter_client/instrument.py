"""Wrap an `openai` or `anthropic` client so every call's usage (with TTFT and latency) is
handed to a Reporter.

No prompt or completion text is ever sent: only usage objects, ids, model names and
(optionally) a SHA-256 of the stable prompt prefix, computed locally.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from cachemeter_client.reporter import Reporter

__all__ = ["instrument", "prefix_hash"]


def prefix_hash(kwargs: dict[str, Any]) -> str | None:
    """SHA-256 of the stable prefix of a request (system prompt, instructions, tools), computed
    locally; the text itself is never sent."""
    parts: list[Any] = [kwargs.get("system"), kwargs.get("instructions"), kwargs.get("tools")]
    messages = kwargs.get("messages") or []
    parts += [
        m for m in messages if isinstance(m, dict) and m.get("role") in ("system", "developer")
    ]
    if not any(parts):
        return None
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _dump(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return value


def _minimal(body: dict[str, Any]) -> dict[str, Any]:
    """Ids, model and usage of a response or event: never its content."""
    keep = ("id", "object", "type", "model", "usage", "x_groq")
    out = {k: body[k] for k in keep if body.get(k) is not None}
    for nested in ("response", "message"):
        if isinstance(body.get(nested), dict):
            out[nested] = _minimal(body[nested])
    return out


class _StreamProxy:
    """Passes a stream through untouched, noting the first chunk's time and the usage events."""

    def __init__(
        self,
        stream: Any,
        done: Callable[[list[dict[str, Any]], float | None], None],
        started: float,
    ) -> None:
        self._stream, self._done, self._started = stream, done, started
        self._events: list[dict[str, Any]] = []
        self._first: float | None = None
        self._reported = False

    def _note(self, event: Any) -> None:
        if self._first is None:
            self._first = time.perf_counter()
        body = _dump(event)
        if isinstance(body, dict) and (
            body.get("usage")
            or body.get("type") in ("message_start", "message_delta")
            or isinstance(body.get("response"), dict)
        ):
            self._events.append(_minimal(body))

    def _finish(self) -> None:
        if not self._reported:
            self._reported = True
            ttft = (self._first - self._started) * 1000 if self._first is not None else None
            self._done(self._events, ttft)

    def __iter__(self) -> Iterator[Any]:
        try:
            for event in self._stream:
                self._note(event)
                yield event
        finally:
            self._finish()

    async def __aiter__(self) -> Any:
        try:
            async for event in self._stream:
                self._note(event)
                yield event
        finally:
            self._finish()

    def __enter__(self) -> _StreamProxy:
        self._stream.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        self._finish()
        return self._stream.__exit__(*exc)

    async def __aenter__(self) -> _StreamProxy:
        await self._stream.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> Any:
        self._finish()
        return await self._stream.__aexit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _wrap(owner: Any, name: str, provider: str, reporter: Reporter, hash_prefix: bool) -> None:
    original = getattr(owner, name)

    def report(kwargs: dict[str, Any], started: float, payload: Any, ttft: float | None) -> None:
        try:
            if not payload:
                return
            record: dict[str, Any] = {
                "provider": provider,
                "response": payload,
                "occurred_at": datetime.now(UTC).isoformat(),
                "latency_ms": round((time.perf_counter() - started) * 1000, 3),
            }
            if ttft is not None:
                record["ttft_ms"] = round(ttft, 3)
            if kwargs.get("model"):
                record["model"] = str(kwargs["model"])
            if hash_prefix and (digest := prefix_hash(kwargs)):
                record["prefix_hash"] = digest
            reporter.record(record)
        except Exception:
            reporter.count_dropped(1)

    def after(kwargs: dict[str, Any], started: float, result: Any) -> Any:
        if kwargs.get("stream"):
            return _StreamProxy(
                result, lambda events, ttft: report(kwargs, started, events, ttft), started
            )
        report(
            kwargs,
            started,
            _minimal(_dump(result)) if isinstance(_dump(result), dict) else None,
            None,
        )
        return result

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        result = original(*args, **kwargs)
        if inspect.isawaitable(result):
            # Async clients (some return a coroutine from a plain function).
            async def finish() -> Any:
                return after(kwargs, started, await result)

            return finish()
        return after(kwargs, started, result)

    setattr(owner, name, wrapper)


def instrument(
    client: Any, reporter: Reporter, *, hash_prefix: bool = False, provider: str | None = None
) -> Any:
    """Report the usage of `client`'s calls (OpenAI/AsyncOpenAI chat completions and responses,
    Anthropic/AsyncAnthropic messages); returns the same client. `provider` names the real
    provider when an OpenAI-compatible client points elsewhere (e.g. "groq")."""
    module = type(client).__module__.split(".")[0]
    if module == "openai":
        _wrap(client.chat.completions, "create", provider or "openai", reporter, hash_prefix)
        if hasattr(client, "responses"):
            _wrap(client.responses, "create", provider or "openai", reporter, hash_prefix)
    elif module == "anthropic":
        _wrap(client.messages, "create", provider or "anthropic", reporter, hash_prefix)
    else:
        raise TypeError(
            f"instrument() wraps openai and anthropic clients, not {type(client).__name__}"
        )
    return client
