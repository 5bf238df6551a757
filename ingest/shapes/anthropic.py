"""Anthropic Messages: response, bare usage, or the stream's events.

`usage.input_tokens` EXCLUDES cache reads and writes (SEPARATE): total input =
`input_tokens + cache_creation_input_tokens + cache_read_input_tokens`. Writes split by TTL in
`cache_creation.ephemeral_5m_input_tokens` / `ephemeral_1h_input_tokens` (absent split = all
5-minute). Thinking (`output_tokens_details.thinking_tokens`) is inside `output_tokens`.
Server-side tool use (`server_tool_use.web_search_requests`, …) is read per tool; its fees
are billing's. Stream usage (message_start, then message_delta) is CUMULATIVE: the last
value of each field wins, never a sum, except that a later 0 or an absent field never erases
a count an earlier event reported (message_delta may repeat a field as 0, and carries no TTL split).

Bedrock's InvokeModel streams end with a `message_stop` event carrying
`amazon-bedrock-invocationMetrics`: Bedrock's own metering of the request (`inputTokenCount`,
uncached like `input_tokens`, `cacheReadInputTokenCount`, `cacheWriteInputTokenCount`,
`outputTokenCount`), which is what Bedrock bills. Being the stream's last word, its counts win.

With server-side compaction (or the advisor tool), `usage.iterations[]` lists each sampling
step's usage (same fields) and the top-level usage is only the last step: the request's counts
are the sum of the iterations. An `advisor_message` (or `fallback_message`) iteration names the
model it ran on, whose rates price it; each iteration is kept as a step of the request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ingest.errors import PayloadError
from ingest.fields import count, is_object, mapping, text
from ingest.shapes.base import Normalised, make_usage

_FIELDS = (
    "input_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "output_tokens",
)


def read_usage(usage: Mapping[str, Any], prefix: str = "usage") -> Normalised:
    """Canonical counts from one Anthropic usage object (the sum of its iterations, if any)."""
    iterations = usage.get("iterations")
    if iterations is None or iterations == []:
        return _read_step(usage, prefix)
    if not isinstance(iterations, list):
        raise PayloadError(f"{prefix}.iterations", "must be a list of usage objects")
    summed = _sum_iterations(iterations, prefix)
    return replace(
        summed,
        service_tier=text(usage, ("service_tier",), 32),
        inference_geo=text(usage, ("inference_geo",), 32),
        speed=text(usage, ("speed",), 32),
        tool_requests=_tool_requests(usage, prefix),
    )


def _tool_requests(usage: Mapping[str, Any], prefix: str) -> dict[str, int]:
    """`server_tool_use` counts (`web_search_requests`: 3) by tool (`web_search`: 3)."""
    tools = mapping(usage, ("server_tool_use",), f"{prefix}.server_tool_use") or {}
    out = {}
    for key in tools:
        name = str(key).removesuffix("_requests")
        times = count(tools, (key,), f"{prefix}.server_tool_use.{key}")
        if times:
            out[name[:64]] = times
    return out


def _sum_iterations(iterations: list[Any], prefix: str) -> Normalised:
    steps = []
    models: list[str | None] = []
    for index, step in enumerate(iterations):
        label = f"{prefix}.iterations[{index}]"
        if not is_object(step):
            raise PayloadError(label, "must be an object")
        steps.append(_read_step(step, label).usage)
        # An advisor (or fallback) step names the model it ran on; the others ran on the
        # request's own model.
        models.append(text(step, ("model",)))
    return Normalised(
        shape="anthropic.messages",
        usage=make_usage(
            prefix,
            input_tokens=sum(u.input_tokens for u in steps),
            cache_read=sum(u.cache_read_tokens for u in steps),
            cache_write=sum(u.cache_write_tokens for u in steps),
            cache_write_1h=sum(u.cache_write_1h_tokens for u in steps),
            output=sum(u.output_tokens for u in steps),
            reasoning=sum(u.reasoning_tokens for u in steps),
        ),
        provider="anthropic",
        steps=tuple(zip(models, steps, strict=True)),
    )


def _read_step(usage: Mapping[str, Any], prefix: str) -> Normalised:
    plain = count(usage, ("input_tokens",), f"{prefix}.input_tokens")
    read = count(usage, ("cache_read_input_tokens",), f"{prefix}.cache_read_input_tokens") or 0
    split = mapping(usage, ("cache_creation",), f"{prefix}.cache_creation")
    short = count(
        split, ("ephemeral_5m_input_tokens",), f"{prefix}.cache_creation.ephemeral_5m_input_tokens"
    )
    long = count(
        split, ("ephemeral_1h_input_tokens",), f"{prefix}.cache_creation.ephemeral_1h_input_tokens"
    )
    written = count(
        usage, ("cache_creation_input_tokens",), f"{prefix}.cache_creation_input_tokens"
    )
    if written is None and (short is not None or long is not None):
        written = (short or 0) + (long or 0)
    if plain is None:
        raise PayloadError(f"{prefix}.input_tokens", "missing")
    return Normalised(
        shape="anthropic.messages",
        usage=make_usage(
            prefix,
            input_tokens=plain + read + (written or 0),
            cache_read=read,
            cache_write=written,
            cache_write_1h=long,
            output=count(usage, ("output_tokens",), f"{prefix}.output_tokens"),
            reasoning=count(
                usage,
                ("output_tokens_details", "thinking_tokens"),
                f"{prefix}.output_tokens_details.thinking_tokens",
            ),
        ),
        provider="anthropic",
        service_tier=text(usage, ("service_tier",), 32),
        inference_geo=text(usage, ("inference_geo",), 32),
        speed=text(usage, ("speed",), 32),
        tool_requests=_tool_requests(usage, prefix),
    )


def normalise(payload: Mapping[str, Any]) -> Normalised:
    """A Messages response or a bare usage object."""
    if "input_tokens" in payload or "cache_read_input_tokens" in payload:
        return read_usage(payload)
    usage = mapping(payload, ("usage",), "usage")
    if usage is None:
        raise PayloadError("usage", "missing: this Messages payload carries no usage object")
    result = read_usage(usage)
    reason, missed = _diagnosis(payload, "diagnostics")
    return replace(
        result,
        model=text(payload, ("model",)),
        response_id=text(payload, ("id",)),
        cache_miss_reason=reason,
        cache_missed_tokens=missed,
    )


def _diagnosis(message: Mapping[str, Any], label: str) -> tuple[str | None, int | None]:
    """Cache diagnostics (beta): `diagnostics.cache_miss_reason` names where the request
    diverged from `previous_message_id` (model, system, tools or messages changed; or no
    comparison: previous_message_not_found, unavailable) and, for a divergence, about how
    many input tokens came after it. Null while the comparison is still running."""
    diagnostics = mapping(message, ("diagnostics",), label)
    reason = mapping(diagnostics or {}, ("cache_miss_reason",), f"{label}.cache_miss_reason")
    if reason is None:
        return None, None
    path = f"{label}.cache_miss_reason"
    return text(reason, ("type",), 64), count(
        reason, ("cache_missed_input_tokens",), f"{path}.cache_missed_input_tokens"
    )


def _merge(merged: dict[str, Any], later: Mapping[str, Any]) -> None:
    """Fold a later event's cumulative usage into `merged`: its values win, but a 0 or an absent
    field leaves an earlier count standing (nested objects, such as the TTL split, alike)."""
    for key, value in later.items():
        earlier = merged.get(key)
        if is_object(value) and isinstance(earlier, dict):
            _merge(earlier, value)
        elif is_object(value):
            merged[key] = {}
            _merge(merged[key], value)
        elif value is not None and not (value == 0 and earlier not in (None, 0)):
            merged[key] = value


_METERED = (
    ("inputTokenCount", "input_tokens"),
    ("cacheReadInputTokenCount", "cache_read_input_tokens"),
    ("cacheWriteInputTokenCount", "cache_creation_input_tokens"),
    ("outputTokenCount", "output_tokens"),
)


def _metered(merged: dict[str, Any], metrics: Mapping[str, Any], label: str) -> None:
    """Bedrock's invocation metrics replace the counts they report (what Bedrock bills)."""
    for source, target in _METERED:
        value = count(metrics, (source,), f"{label}.{source}")
        if value is not None:
            merged[target] = value
    written = merged.get("cache_creation_input_tokens") or 0
    split = merged.get("cache_creation")
    if isinstance(split, dict) and (split.get("ephemeral_1h_input_tokens") or 0) > written:
        # The TTL split came from message_start; it cannot exceed what Bedrock metered.
        split["ephemeral_1h_input_tokens"] = written


def normalise_events(events: Sequence[Any]) -> Normalised:
    """A stream's events (message_start, message_delta, …): cumulative, last value wins."""
    merged: dict[str, Any] = {}
    model = response_id = None
    reason: str | None = None
    missed: int | None = None
    seen = False
    for index, event in enumerate(events):
        if not is_object(event):
            raise PayloadError(f"[{index}]", "each stream event must be an object")
        kind = event.get("type")
        metrics = mapping(
            event,
            ("amazon-bedrock-invocationMetrics",),
            f"[{index}].amazon-bedrock-invocationMetrics",
        )
        if metrics is not None:
            _metered(merged, metrics, f"[{index}].amazon-bedrock-invocationMetrics")
            seen = True
            continue
        if kind == "message_start":
            message = mapping(event, ("message",), f"[{index}].message") or {}
            usage = mapping(message, ("usage",), f"[{index}].message.usage")
            model = text(message, ("model",)) or model
            response_id = text(message, ("id",)) or response_id
            # A stream carries the diagnosis on message_start's message.
            reason, missed = _diagnosis(message, f"[{index}].message.diagnostics")
        elif kind == "message_delta":
            usage = mapping(event, ("usage",), f"[{index}].usage")
        else:
            continue
        if usage is None:
            continue
        seen = True
        _merge(merged, usage)
    if not seen:
        raise PayloadError("events", "no message_start or message_delta event carries usage")
    merged.setdefault("input_tokens", 0)
    result = read_usage(merged, "events.usage")
    return replace(
        result,
        shape="anthropic.messages.events",
        model=model,
        response_id=response_id,
        cache_miss_reason=reason,
        cache_missed_tokens=missed,
    )
