"""LiteLLM: a proxy callback that reports each call, and the mapping of LiteLLM's logging
payloads (and spend-log rows) to push records, which the server's spend-log import shares.

Proxy config (litellm `config.yaml`), with CACHEMETER_URL and CACHEMETER_API_KEY set:

    litellm_settings:
      callbacks: cachemeter_client.litellm.handler

Each call's `standard_logging_object` becomes a push record: the usage object
(`metadata.usage_object`, LiteLLM's normalised usage), TTFT from `completionStartTime`,
`response_cost` for reconciliation, the team, key alias (as app), end user and request tags.
Responses served from LiteLLM's own response cache (`cache_hit`) never reached the provider:
they are not provider prompt caching and are skipped (counted in `skipped_cache_hits`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
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
        except json.JSONDecodeError:
            return None
    return value


def record_from_log(log: Mapping[str, Any]) -> dict[str, Any] | None:
    """A push record from a StandardLoggingPayload or a LiteLLM_SpendLogs row; None for a
    LiteLLM response-cache hit (no provider call happened)."""
    if _truthy(log.get("cache_hit")):
        return None
    metadata = _json(log.get("metadata")) or {}
    usage = metadata.get("usage_object") if isinstance(metadata, Mapping) else None
    if not isinstance(usage, Mapping) or not usage:
        usage = {
            "prompt_tokens": int(log.get("prompt_tokens") or 0),
            "completion_tokens": int(log.get("completion_tokens") or 0),
        }
    start, end = _time(log.get("startTime")), _time(log.get("endTime"))
    first = _time(log.get("completionStartTime"))
    record: dict[str, Any] = {"usage": dict(usage)}
    provider = log.get("custom_llm_provider")
    if provider:
        record["provider"] = str(provider)
    if log.get("model"):
        record["model"] = str(log["model"])
    request_id = log.get("id") or log.get("request_id")
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
    meta = metadata if isinstance(metadata, Mapping) else {}
    team = (
        meta.get("user_api_key_team_alias")
        or meta.get("user_api_key_team_id")
        or log.get("team_id")
    )
    app = meta.get("user_api_key_alias") or log.get("model_group")
    end_user = log.get("end_user") or meta.get("user_api_key_end_user_id")
    tags = _json(log.get("request_tags")) or []
    for key, value in (("team", team), ("app", app), ("end_user", end_user)):
        if value:
            record[key] = str(value)[:128]
    if isinstance(tags, list) and tags:
        record["tags"] = {str(tag)[:64]: "true" for tag in tags[:32]}
    return record


class CachemeterLogger(_Base):
    """LiteLLM custom callback: reports successful calls to cachemeter in the background."""

    def __init__(self, reporter: Reporter | None = None) -> None:
        super().__init__()
        self._reporter = reporter
        self.skipped_cache_hits = 0

    @property
    def reporter(self) -> Reporter:
        """Created on first use from CACHEMETER_URL and CACHEMETER_API_KEY."""
        if self._reporter is None:
            self._reporter = Reporter(
                os.environ.get("CACHEMETER_URL", "http://127.0.0.1:8000"),
                os.environ.get("CACHEMETER_API_KEY", ""),
            )
        return self._reporter

    def log_success_event(
        self, kwargs: Mapping[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        """LiteLLM's hook after a successful call (sync)."""
        payload = kwargs.get("standard_logging_object")
        if not isinstance(payload, Mapping):
            return
        record = record_from_log(payload)
        if record is None:
            self.skipped_cache_hits += 1
        else:
            self.reporter.record(record)

    async def async_log_success_event(
        self, kwargs: Mapping[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        """LiteLLM's hook after a successful call (async); queuing never blocks."""
        self.log_success_event(kwargs, response_obj, start_time, end_time)


handler = CachemeterLogger()
