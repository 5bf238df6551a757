"""Alibaba Cloud Model Studio (DashScope) serving Qwen, in both of its API shapes.

OpenAI-compatible mode: `usage.prompt_tokens` INCLUDES the cache reads
(`prompt_tokens_details.cached_tokens`) and the explicit-cache writes
(`prompt_tokens_details.cache_creation_input_tokens`, TTL split in
`prompt_tokens_details.cache_creation.ephemeral_5m_input_tokens`); `cache_type` says whether
the cache was implicit or explicit (`ephemeral`). The native DashScope API reports the same
object as `usage.input_tokens` / `output_tokens` with the same `prompt_tokens_details`, beside a
top-level `request_id` and `output`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ingest.errors import PayloadError
from ingest.fields import count, is_object, mapping, same_tokens, text
from ingest.shapes.base import Normalised, make_usage
from ingest.shapes.openai_chat import CACHED, GENERIC, ChatVariant
from ingest.shapes.openai_chat import normalise as chat

_WRITTEN = (
    ("prompt_tokens_details", "cache_creation_input_tokens"),
    ("prompt_tokens_details", "cache_creation", "ephemeral_5m_input_tokens"),
    *GENERIC.written,
)
VARIANT = ChatVariant(
    cached=(CACHED,),
    written=_WRITTEN,
    written_1h=(("prompt_tokens_details", "cache_creation", "ephemeral_1h_input_tokens"),),
)


def is_native(payload: Mapping[str, Any]) -> bool:
    """True for a native DashScope response: `input_tokens` beside `prompt_tokens_details`."""
    usage = payload.get("usage")
    return (
        is_object(usage)
        and "input_tokens" in usage
        and is_object(usage.get("prompt_tokens_details"))
        and "input_tokens_details" not in usage
        # Anthropic's cache fields (a gateway may add an OpenAI-style copy beside them).
        and not any(k in usage for k in ("cache_read_input_tokens", "cache_creation_input_tokens"))
        and payload.get("type") != "message"
    )


def normalise(payload: Mapping[str, Any]) -> Normalised:
    """A Qwen completion in the OpenAI-compatible mode (response, last chunk or usage)."""
    result = chat(payload, VARIANT)
    return replace(result, shape="dashscope.chat")


def normalise_native(payload: Mapping[str, Any]) -> Normalised:
    """A native DashScope generation response."""
    usage = mapping(payload, ("usage",), "usage")
    if usage is None:
        raise PayloadError("usage", "missing: this DashScope response carries no usage")
    reasoning = count(
        usage,
        ("output_tokens_details", "reasoning_tokens"),
        "usage.output_tokens_details.reasoning_tokens",
    )
    return Normalised(
        shape="dashscope.native",
        usage=make_usage(
            "usage.input_tokens",
            input_tokens=count(usage, ("input_tokens",), "usage.input_tokens"),
            cache_read=same_tokens(usage, VARIANT.cached, "usage"),
            cache_write=same_tokens(usage, VARIANT.written, "usage"),
            cache_write_1h=same_tokens(usage, VARIANT.written_1h, "usage"),
            output=count(usage, ("output_tokens",), "usage.output_tokens"),
            reasoning=reasoning,
        ),
        model=text(payload, ("model",)),
        response_id=text(payload, ("request_id",)) or text(payload, ("id",)),
        provider="alibaba",
    )
