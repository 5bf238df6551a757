"""OpenAI Responses API: response, `response.completed` (or other terminal) event, or usage.

`usage.input_tokens` INCLUDES `input_tokens_details.cached_tokens` and
`input_tokens_details.cache_write_tokens`; `output_tokens` includes
`output_tokens_details.reasoning_tokens`. OpenRouter serves this shape too, with `usage.cost`
(what it charged: kept for reconciliation, never used as our price).

Hosted tools are billed per call beside the tokens: each `web_search_call` output item that
searched (its `action.type` is `search`, or it names no action; opening or reading a found
page is not a search) is one web search, each `file_search_call` one file search.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ingest.errors import PayloadError
from ingest.fields import count, is_object, mapping, money, text
from ingest.shapes.base import Normalised, make_usage


def read_usage(
    usage: Mapping[str, Any], prefix: str, *, reasoning_inside: bool = True
) -> Normalised:
    """Canonical counts from one Responses usage object."""
    output = count(usage, ("output_tokens",), f"{prefix}.output_tokens")
    reasoning = count(
        usage,
        ("output_tokens_details", "reasoning_tokens"),
        f"{prefix}.output_tokens_details.reasoning_tokens",
    )
    if not reasoning_inside and reasoning:
        output = (output or 0) + reasoning
    return Normalised(
        shape="openai.responses",
        usage=make_usage(
            f"{prefix}.input_tokens",
            input_tokens=count(usage, ("input_tokens",), f"{prefix}.input_tokens"),
            cache_read=count(
                usage,
                ("input_tokens_details", "cached_tokens"),
                f"{prefix}.input_tokens_details.cached_tokens",
            ),
            cache_write=count(
                usage,
                ("input_tokens_details", "cache_write_tokens"),
                f"{prefix}.input_tokens_details.cache_write_tokens",
            ),
            output=output,
            reasoning=reasoning,
        ),
        reported_cost=_reported_cost(usage, prefix),
    )


def _reported_cost(usage: Mapping[str, Any], prefix: str) -> Decimal | None:
    # OpenRouter's `cost` is a number; other gateways put an object of their own there, which
    # is not a charge we can reconcile against, so it is left alone.
    cost = usage.get("cost")
    if isinstance(cost, bool) or not isinstance(cost, int | float | str):
        return None
    return money(usage, ("cost",), f"{prefix}.cost")


def normalise(payload: Mapping[str, Any], *, reasoning_inside: bool = True) -> Normalised:
    """A response object, a `response.*` stream event, or a bare usage object."""
    if "input_tokens" in payload:
        return read_usage(payload, "usage", reasoning_inside=reasoning_inside)
    shape, prefix, body = "openai.responses", "usage", payload
    if str(payload.get("type", "")).startswith("response."):
        inner = mapping(payload, ("response",), "response")
        if inner is None:
            raise PayloadError("response", "missing: this event carries no response")
        shape, prefix, body = "openai.responses.event", "response.usage", inner
    usage = mapping(body, ("usage",), prefix)
    if usage is None:
        raise PayloadError(prefix, "missing: this Responses payload carries no usage object")
    result = read_usage(usage, prefix, reasoning_inside=reasoning_inside)
    return Normalised(
        shape=shape,
        usage=result.usage,
        reported_cost=result.reported_cost,
        model=text(body, ("model",)),
        response_id=text(body, ("id",)),
        service_tier=text(body, ("service_tier",), 32),
        tool_requests=_tool_calls(body.get("output")),
        **_diagnosis(body),
    )


def _diagnosis(body: Mapping[str, Any]) -> dict[str, Any]:
    """`prompt_cache_diagnostics` (GPT-5.6+, with `prompt_cache_options.comparison_response_id`):
    a `cache_miss` names its `reason` (model, tools, input, prompt_cache_key, service tier …
    changed; context compacted) and `cache_missed_tokens`; a hit or no comparison says nothing
    of a miss."""
    found = mapping(body, ("prompt_cache_diagnostics",), "prompt_cache_diagnostics")
    if found is None or found.get("type") != "cache_miss":
        return {}
    return {
        "cache_miss_reason": text(found, ("reason",), 64),
        "cache_missed_tokens": count(
            found, ("cache_missed_tokens",), "prompt_cache_diagnostics.cache_missed_tokens"
        ),
    }


_TOOL_ITEMS = {"web_search_call": "web_search", "file_search_call": "file_search"}


def _tool_calls(output: Any) -> dict[str, int]:
    """Hosted-tool calls among a response's output items, by tool."""
    calls: dict[str, int] = {}
    for item in output if isinstance(output, list) else ():
        kind = item.get("type") if is_object(item) else None
        if not isinstance(kind, str) or kind not in _TOOL_ITEMS:
            continue
        action = item.get("action")
        if is_object(action) and action.get("type") not in (None, "search"):
            continue
        tool = _TOOL_ITEMS[kind]
        calls[tool] = calls.get(tool, 0) + 1
    return calls
