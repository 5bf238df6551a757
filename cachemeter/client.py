"""cachemeter's Python client: wrap an `openai` or `anthropic` client so every call's usage
(with TTFT and latency) reaches cachemeter in background batches.

    from cachemeter.client import Reporter, instrument
    reporter = Reporter("http://cachemeter:8000", api_key, app="support-bot")
    client = instrument(openai.OpenAI(), reporter)

The application is never slowed or broken by cachemeter: records go to a bounded queue and a
thread sends them; when cachemeter is down or slow, batches are retried briefly and then
dropped, and `reporter.dropped` says how many usage records were not delivered. No prompt or
completion text is ever sent: only usage objects, ids, model names and (optionally) a SHA-256 of
the stable prompt prefix.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx

__all__ = ["Reporter", "instrument", "prefix_hash"]


class Reporter:
    """Batches usage records to POST /v1/usage from one background thread."""

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        app: str | None = None,
        team: str | None = None,
        environment: str | None = None,
        batch_size: int = 100,
        flush_interval: float = 1.0,
        queue_size: int = 10_000,
        timeout: float = 2.0,
        attempts: int = 3,
    ) -> None:
        self.endpoint = url.rstrip("/") + "/v1/usage"
        self.headers = {"Authorization": f"Bearer {api_key}"}
        self.dimensions = {
            k: v for k, v in (("app", app), ("team", team), ("environment", environment)) if v
        }
        self.batch_size, self.flush_interval = batch_size, flush_interval
        self.timeout, self.attempts = timeout, attempts
        self.sent = 0
        self.dropped = 0
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cachemeter-reporter", daemon=True)
        self._thread.start()

    def record(self, record: dict[str, Any]) -> None:
        """Queue one usage record; never blocks (a full queue drops it and counts it)."""
        try:
            self._idle.clear()
            self._queue.put_nowait({**self.dimensions, **record})
        except queue.Full:
            with self._lock:
                self.dropped += 1

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far was sent or dropped."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.empty() and self._idle.is_set():
                return True
            time.sleep(0.01)
        return False

    def close(self, timeout: float = 10.0) -> None:
        """Flush what is queued (within `timeout`) and stop the thread."""
        self.flush(timeout)
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout) as client:
            while not self._stop.is_set():
                batch = self._take()
                if batch:
                    self._send(client, batch)
                if self._queue.empty():
                    self._idle.set()

    def _take(self) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        deadline = time.monotonic() + self.flush_interval
        while len(batch) < self.batch_size:
            try:
                batch.append(
                    self._queue.get(timeout=max(0.0, min(0.05, deadline - time.monotonic())))
                )
            except queue.Empty:
                if batch or time.monotonic() >= deadline or self._stop.is_set():
                    break
        return batch

    def _send(self, client: httpx.Client, batch: list[dict[str, Any]]) -> None:
        # Retrying is safe: every record carries the provider's response id, so a batch that
        # was stored before its answer was lost is counted once.
        for attempt in range(self.attempts):
            wait = 0.2 * 2**attempt
            try:
                response = client.post(self.endpoint, json={"records": batch}, headers=self.headers)
                if response.status_code < 500 and response.status_code != 429:
                    with self._lock:
                        self.sent += len(batch)  # stored, duplicate or rejected: delivered
                    return
                wait = max(wait, _retry_after(response))
            except httpx.HTTPError:
                pass
            if attempt + 1 < self.attempts:
                time.sleep(min(wait, MAX_BACKOFF))
        with self._lock:
            self.dropped += len(batch)


# The reporter's thread never waits longer than this between attempts.
MAX_BACKOFF = 5.0


def _retry_after(response: httpx.Response) -> float:
    """The server's Retry-After in seconds (503 while its database restarts), else 0."""
    try:
        return max(0.0, float(response.headers.get("retry-after", "0")))
    except ValueError:
        return 0.0


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
            with reporter._lock:
                reporter.dropped += 1

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
