"""xAI's native API (the gRPC service of the xai-sdk, sent as the JSON of its protos).

`SamplingUsage` (xai_sdk/proto/v6/usage.proto): `prompt_tokens` INCLUDES
`cached_prompt_text_tokens` (as the REST API's `prompt_tokens` includes its `cached_tokens`),
`completion_tokens` EXCLUDES the top-level `reasoning_tokens`: billed output = completion +
reasoning. No cache writes. `server_side_tools_used` lists one enum name per server-side tool
call (`SERVER_SIDE_TOOL_WEB_SEARCH`, …), `cost_in_usd_ticks` is xAI's charge in 1e-10 USD.

Protobuf's JSON mapping writes camelCase names (snake_case with `preserving_proto_field_name`),
leaves out fields that are 0, may quote integers, and writes enums by name (or number).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ingest.errors import PayloadError
from ingest.fields import count, mapping, money, text
from ingest.shapes.base import Normalised, make_usage

USD_PER_TICK = Decimal("1e-10")
_MARKS = ("prompt_text_tokens", "cached_prompt_text_tokens", "promptTextTokens")
_MARKS_CAMEL = ("cachedPromptTextTokens", "serverSideToolsUsed", "costInUsdTicks")
_TOOL_PREFIX = "SERVER_SIDE_TOOL_"
# ServerSideTool enum numbers, for JSON written with `use_integers_for_enums`.
_TOOL_NUMBERS = {
    1: "web_search",
    2: "x_search",
    3: "code_execution",
    4: "view_image",
    5: "view_x_video",
    6: "collections_search",
    7: "mcp",
    8: "attachment_search",
    9: "image_search",
    10: "image_generation",
}


def is_usage(obj: Mapping[str, Any]) -> bool:
    """True for a SamplingUsage message in either JSON spelling."""
    return any(k in obj for k in _MARKS + _MARKS_CAMEL)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _count(usage: Mapping[str, Any], name: str) -> int | None:
    """A count under its proto name or its JSON name; quoted integers are proto3 JSON too."""
    for key in (name, _camel(name)):
        value = usage.get(key)
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        found = count({key: value}, (key,), f"usage.{key}")
        if found is not None:
            return found
    return None


def _tools(usage: Mapping[str, Any]) -> dict[str, int]:
    used = usage.get("server_side_tools_used", usage.get("serverSideToolsUsed")) or []
    if not isinstance(used, list):
        raise PayloadError("usage.server_side_tools_used", "must be a list of tool names")
    out: dict[str, int] = {}
    for index, tool in enumerate(used):
        if isinstance(tool, int) and not isinstance(tool, bool) and tool in _TOOL_NUMBERS:
            name = _TOOL_NUMBERS[tool]
        elif isinstance(tool, str) and tool.startswith(_TOOL_PREFIX) and len(tool) <= 80:
            name = tool.removeprefix(_TOOL_PREFIX).lower()
        else:
            raise PayloadError(
                f"usage.server_side_tools_used[{index}]", f"unknown server-side tool {tool!r}"
            )
        if name != "invalid":
            out[name] = out.get(name, 0) + 1
    return out


def _ticks(usage: Mapping[str, Any]) -> Decimal | None:
    """`cost_in_usd_ticks` (an int64, so often quoted) as a whole number of ticks."""
    for key in ("cost_in_usd_ticks", "costInUsdTicks"):
        amount = money(usage, (key,), f"usage.{key}")
        if amount is not None:
            if amount < 0 or amount != amount.to_integral_value():
                raise PayloadError(f"usage.{key}", f"must be a whole number of ticks, got {amount}")
            return amount
    return None


def _tier(body: Mapping[str, Any]) -> str | None:
    tier = text(body, ("service_tier",), 64) or text(body, ("serviceTier",), 64)
    if tier is None:
        return None
    tier = tier.removeprefix("SERVICE_TIER_").lower()
    return None if tier == "unspecified" else tier


def normalise(payload: Mapping[str, Any]) -> Normalised:
    """A GetChatCompletionResponse (or stream chunk) as JSON, or its usage message alone."""
    body: Mapping[str, Any] = {}
    usage: Mapping[str, Any] = payload
    if not is_usage(payload):
        found = mapping(payload, ("usage",), "usage")
        if found is None:
            raise PayloadError("usage", "missing: this xAI response carries no usage")
        usage, body = found, payload
    prompt = _count(usage, "prompt_tokens")
    if prompt is None:
        text_tokens, images = (
            _count(usage, "prompt_text_tokens"),
            _count(usage, "prompt_image_tokens"),
        )
        if text_tokens is not None or images is not None:
            prompt = (text_tokens or 0) + (images or 0)
    reasoning = _count(usage, "reasoning_tokens") or 0
    ticks = _ticks(usage)
    return Normalised(
        shape="xai.native",
        usage=make_usage(
            "usage.prompt_tokens",
            input_tokens=prompt or 0,
            cache_read=_count(usage, "cached_prompt_text_tokens"),
            output=(_count(usage, "completion_tokens") or 0) + reasoning,
            reasoning=reasoning,
        ),
        model=text(body, ("model",)),
        response_id=text(body, ("id",)),
        provider="x-ai",
        reported_cost=None if ticks is None else ticks * USD_PER_TICK,
        service_tier=_tier(body),
        tool_requests=_tools(usage),
    )
