"""Gemini Interactions API (`POST /v1beta/interactions`): an interaction, its stream events, or
the usage object alone.

`usage.total_input_tokens` INCLUDES `total_cached_tokens` (as generateContent's
`promptTokenCount` includes `cachedContentTokenCount`), and `total_tool_use_tokens` are prompt
tokens of tool use, added to input as `toolUsePromptTokenCount` is. `total_thought_tokens` are
NOT inside `total_output_tokens` (`total_tokens` = input + output + thoughts): billed output =
output + thoughts, reasoning = thoughts. No per-request cache writes. Stream events carry
CUMULATIVE usage (`metadata.usage` on step events, `interaction.usage` on
`interaction.completed`): the last one wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingest.errors import PayloadError
from ingest.fields import count, dig, is_object, text
from ingest.shapes.base import Normalised, make_usage

_USAGE_NAMES = frozenset(("total_input_tokens", "total_output_tokens", "total_thought_tokens"))
# Where an interaction, a stream event, or the object itself keeps its usage.
_USAGE_PATHS = (("usage",), ("interaction", "usage"), ("metadata", "usage"))


def is_usage(obj: Any) -> bool:
    """True for an Interactions API usage object."""
    return is_object(obj) and not _USAGE_NAMES.isdisjoint(obj.keys())


def usage_path(payload: Mapping[str, Any]) -> tuple[str, ...] | None:
    """Where `payload` (an interaction or a stream event) holds Interactions usage; () when the
    payload is the usage itself; None when it holds none."""
    if is_usage(payload):
        return ()
    return next((path for path in _USAGE_PATHS if is_usage(dig(payload, path))), None)


def normalise(payload: Mapping[str, Any]) -> Normalised:
    """One interaction or stream event, or a bare usage object."""
    path = usage_path(payload)
    if path is None:
        raise PayloadError("usage", "missing: this Interactions payload carries no usage")
    usage: Mapping[str, Any] = dig(payload, path) if path else payload
    prefix = ".".join(path) or "usage"
    interaction = payload.get("interaction")
    body = interaction if is_object(interaction) else payload
    thoughts = count(usage, ("total_thought_tokens",), f"{prefix}.total_thought_tokens") or 0
    inputs = count(usage, ("total_input_tokens",), f"{prefix}.total_input_tokens")
    tool_use = count(usage, ("total_tool_use_tokens",), f"{prefix}.total_tool_use_tokens") or 0
    output = count(usage, ("total_output_tokens",), f"{prefix}.total_output_tokens") or 0
    return Normalised(
        shape="gemini.interactions",
        usage=make_usage(
            prefix,
            input_tokens=None if inputs is None else inputs + tool_use,
            cache_read=count(usage, ("total_cached_tokens",), f"{prefix}.total_cached_tokens"),
            output=output + thoughts,
            reasoning=thoughts,
        ),
        model=text(body, ("model",)),
        response_id=text(body, ("id",)),
        provider="google",
    )
