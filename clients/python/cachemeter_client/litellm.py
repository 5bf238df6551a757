"""LiteLLM: a proxy (or SDK) callback that reports each call, and the mapping of LiteLLM's
logging payloads (and spend-log rows) to push records, which the server's spend-log import shares.

Proxy config (litellm `config.yaml`), with CACHEMETER_URL and CACHEMETER_API_KEY set:

    litellm_settings:
      callbacks: cachemeter_client.litellm.handler

Each call's `standard_logging_object` becomes a push record: the usage object
(`metadata.usage_object`, LiteLLM's normalised usage), the provider LiteLLM routed to
(`custom_llm_provider`) and the model without LiteLLM's `provider/` prefix, the provider's own
response id, TTFT from `completionStartTime`, `response_cost` for reconciliation, the team and
key alias (as app) of the virtual key, the end user and the request's own tags (never the
`User-Agent: …` or header tags LiteLLM adds to them). Responses served from LiteLLM's own
response cache (`cache_hit`) never reached the provider: they are not provider prompt caching
and are skipped (counted in `skipped_cache_hits`). What is queued is delivered when the proxy
is stopped (SIGTERM) and when the process exits, after LiteLLM has run the callbacks it holds.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Any

from cachemeter_client.reporter import Reporter

# Subclass LiteLLM's logger when LiteLLM is installed; the methods are what it calls. The
# client does not depend on LiteLLM, so without it the class stands alone (type checkers see
# LiteLLM's class, or Any where LiteLLM is not installed).
if TYPE_CHECKING:
    from litellm.integrations.custom_logger import CustomLogger as _Base
else:
    try:
        from litellm.integrations.custom_logger import CustomLogger as _Base
    except ImportError:  # pragma: no cover - depends on the deployment
        _Base = object

# LiteLLM adds the caller's User-Agent to a request's tags ("User-Agent: curl" and
# "User-Agent: curl/8.5.0"): transport, not a tag anybody set.
_USER_AGENT_TAG = "User-Agent: "


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except (json.JSONDecodeError, RecursionError):  # nested past the stack: unreadable
            return None
    return value


def _model(model: str, provider: str | None) -> str:
    """The model without LiteLLM's routing prefix: a proxy deployment `openai/gpt-5.1` (or
    `bedrock/us.anthropic.…`) is logged with it, the provider itself never saw it."""
    if provider and model.lower().startswith(provider.lower() + "/"):
        return model[len(provider) + 1 :]
    return model


def user_tags(tags: Any, header_tags: Iterable[str] = ()) -> list[str]:
    """The tags a request was given (metadata `tags`, key and team tags): LiteLLM's
    `request_tags` less those it derives from HTTP headers, the User-Agent always and the
    headers named in `extra_spend_tag_headers` (`header_tags`, "name: " each)."""
    if not isinstance(tags, list):
        return []
    prefixes = (_USER_AGENT_TAG, *header_tags)
    return [str(tag) for tag in tags if not str(tag).startswith(prefixes)]


def record_from_log(
    log: Mapping[str, Any],
    *,
    response_id: str | None = None,
    header_tags: Iterable[str] = (),
) -> dict[str, Any] | None:
    """A push record from a StandardLoggingPayload or a LiteLLM_SpendLogs row; None for a
    LiteLLM response-cache hit (no provider call happened).

    `response_id` is the provider's own id where LiteLLM replaced it in the payload (the
    callback reads it from the raw response); otherwise the payload's `id` (or a spend log's
    `request_id`), which is the provider's for OpenAI-compatible providers and LiteLLM's own
    for others (Anthropic streams)."""
    if _truthy(log.get("cache_hit")):
        return None
    metadata = _json(log.get("metadata")) or {}
    meta = metadata if isinstance(metadata, Mapping) else {}
    usage = meta.get("usage_object")
    if not isinstance(usage, Mapping) or not usage:
        usage = {
            "prompt_tokens": int(log.get("prompt_tokens") or 0),
            "completion_tokens": int(log.get("completion_tokens") or 0),
        }
    start, end = _time(log.get("startTime")), _time(log.get("endTime"))
    first = _time(log.get("completionStartTime"))
    record: dict[str, Any] = {"usage": dict(usage)}
    provider = str(log["custom_llm_provider"]) if log.get("custom_llm_provider") else None
    if provider:
        record["provider"] = provider
    if log.get("model"):
        record["model"] = _model(str(log["model"]), provider)
    request_id = response_id or log.get("id") or log.get("request_id")
    if request_id:
        record["request_id"] = str(request_id)
    if start:
        record["occurred_at"] = start.isoformat()
        if end and end >= start:
            record["latency_ms"] = (end - start).total_seconds() * 1000
        # Without streaming LiteLLM sets completionStartTime to endTime: that is no TTFT.
        if first and start < first and (end is None or first < end):
            record["ttft_ms"] = (first - start).total_seconds() * 1000
    cost = log.get("response_cost", log.get("spend"))
    if isinstance(cost, int | float | str) and not isinstance(cost, bool) and str(cost) != "":
        record["reported_cost"] = str(cost)
    # The virtual key's team and alias, as LiteLLM's proxy puts them in the metadata (a spend
    # log row also has its own team_id column). The proxy's model group is no app: it names
    # the model a caller asked for.
    team = (
        meta.get("user_api_key_team_alias")
        or meta.get("user_api_key_team_id")
        or meta.get("team_alias")
        or meta.get("team_id")
        or log.get("team_id")
    )
    app = meta.get("user_api_key_alias")
    end_user = log.get("end_user") or meta.get("user_api_key_end_user_id")
    for key, value in (("team", team), ("app", app), ("end_user", end_user)):
        if value:
            record[key] = str(value)[:128]
    tags = user_tags(_json(log.get("request_tags")), header_tags)
    if tags:
        record["tags"] = {tag[:64]: "true" for tag in tags[:32]}
    return record


def provider_response_id(kwargs: Mapping[str, Any]) -> str | None:
    """The id in the provider's raw response body, which LiteLLM keeps as `original_response`
    (a JSON string) for calls that were not streamed. LiteLLM puts an id of its own
    (`chatcmpl-<uuid>`) on the response of some providers (Anthropic's `msg_…` is dropped),
    so the raw body is where the provider's id survives; a stream's is not kept."""
    body = _json(kwargs.get("original_response"))
    if isinstance(body, Mapping) and isinstance(body.get("id"), str) and body["id"]:
        return str(body["id"])
    return None


def _header_tags() -> tuple[str, ...]:
    """The "name: " prefixes of the tags LiteLLM makes from the headers its
    `extra_spend_tag_headers` names."""
    try:
        import litellm
    except ImportError:  # pragma: no cover - depends on the deployment
        return ()
    names = getattr(litellm, "extra_spend_tag_headers", None) or []
    return tuple(f"{name}: " for name in names if isinstance(name, str))


def _run_litellm_pending_callbacks(timeout: float) -> None:
    """Run the success callbacks LiteLLM still holds. LiteLLM queues those of async calls on
    its logging worker and runs what is left from an exit handler registered when litellm was
    imported, before this module's, so it would run after our flush: a script's last
    `acompletion` would be reported to a reporter already closed."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:  # Called from inside an event loop: the application is running, not exiting.
        return
    try:
        from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER
    except ImportError:  # pragma: no cover - depends on the deployment
        return
    # Exiting goes on whatever happens; LiteLLM's own exit handler retries what is left.
    with contextlib.suppress(Exception):
        asyncio.run(asyncio.wait_for(GLOBAL_LOGGING_WORKER.flush(), timeout))


def _in_litellm_proxy() -> bool:
    return "litellm.proxy.proxy_server" in sys.modules


class CachemeterLogger(_Base):
    """LiteLLM custom callback: reports successful calls to cachemeter in the background."""

    def __init__(self, reporter: Reporter | None = None) -> None:
        super().__init__()
        self._reporter = reporter
        # Calls handed to the reporter, LiteLLM response-cache hits skipped, and calls that
        # ended after close() (at exit, once LiteLLM's pending callbacks had run).
        self.reported = self.skipped_cache_hits = self.skipped_after_close = 0
        self._closing = self._closed = False
        self._shutting_down = self._watching_sigterm = False
        self._lock = threading.Lock()
        # Flush at interpreter exit. Registered now, not at the first call, which may itself
        # come from LiteLLM's exit handler, too late to register another.
        atexit.register(self.close)

    @property
    def reporter(self) -> Reporter:
        """Created on first use from CACHEMETER_URL and CACHEMETER_API_KEY."""
        with self._lock:
            if self._reporter is None:
                self._reporter = Reporter(
                    os.environ.get("CACHEMETER_URL", "http://127.0.0.1:8000"),
                    os.environ.get("CACHEMETER_API_KEY", ""),
                )
            return self._reporter

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued (LiteLLM's pending callbacks first) and stop; idempotent."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
        _run_litellm_pending_callbacks(timeout)  # they still report
        self._closed = True
        if self._reporter is not None:
            self._reporter.close(timeout)

    def log_success_event(
        self, kwargs: Mapping[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        """LiteLLM's hook after a successful call (sync)."""
        payload = kwargs.get("standard_logging_object")
        if not isinstance(payload, Mapping):
            return
        record = record_from_log(
            payload, response_id=provider_response_id(kwargs), header_tags=_header_tags()
        )
        with self._lock:
            if record is None:
                self.skipped_cache_hits += 1
                return
            if self._closed:
                # Too late to send, and to start a reporter: its thread, stopped by the
                # interpreter's exit in the middle of an import, would leave the exit waiting.
                self.skipped_after_close += 1
                return
            self.reported += 1
        self.reporter.record(record)

    async def async_log_success_event(
        self, kwargs: Mapping[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        """LiteLLM's hook after a successful call (async); queuing never blocks, except while
        the proxy shuts down, when the call is delivered before the hook returns."""
        if not self._watching_sigterm and _in_litellm_proxy():
            self._watch_sigterm()
        self.log_success_event(kwargs, response_obj, start_time, end_time)
        if self._shutting_down:
            await self._deliver()

    async def _deliver(self, timeout: float = 10.0) -> None:
        if self._reporter is not None:
            await asyncio.to_thread(self._reporter.flush, timeout)

    def _watch_sigterm(self) -> None:
        """In LiteLLM's proxy, flush when it is stopped. On SIGTERM uvicorn shuts down, then
        raises the signal again with its default action, so no exit handler runs; the proxy
        has no shutdown hook for callbacks, but it awaits its logging worker's queue while
        shutting down. So on SIGTERM a delivery of what is queued joins that queue, and the
        callbacks the proxy runs from then on deliver their call before they return. The
        handler chains to the one installed (uvicorn's, wrapped by LiteLLM's own)."""
        self._watching_sigterm = True
        try:
            loop = asyncio.get_running_loop()
            from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER
        except (RuntimeError, ImportError):  # pragma: no cover - depends on the deployment
            return
        previous = signal.getsignal(signal.SIGTERM)
        if threading.current_thread() is not threading.main_thread() or not callable(previous):
            return  # signals are the main thread's; a default action is no server to chain to

        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            self._shutting_down = True
            loop.call_soon_threadsafe(
                lambda: GLOBAL_LOGGING_WORKER.ensure_initialized_and_enqueue(self._deliver())
            )
            previous(signum, frame)

        signal.signal(signal.SIGTERM, on_sigterm)


handler = CachemeterLogger()
