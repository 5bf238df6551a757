"""Groq: OpenAI-shaped, `prompt_tokens` INCLUDES `prompt_tokens_details.cached_tokens`.

Non-streaming responses carry `usage`; streams put it in `x_groq.usage` on the final chunk.
No cache writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingest.fields import mapping, text
from ingest.shapes.base import Normalised
from ingest.shapes.openai_chat import CACHED, ChatVariant, read_usage
from ingest.shapes.openai_chat import normalise as chat

VARIANT = ChatVariant(cached=(CACHED,), written=())


def normalise(payload: Mapping[str, Any]) -> Normalised:
    """A Groq completion, a stream chunk with `x_groq.usage`, or a usage object."""
    streamed = mapping(payload, ("x_groq", "usage"), "x_groq.usage")
    if streamed is None:
        return chat(payload, VARIANT)
    result = read_usage(streamed, VARIANT, "x_groq.usage")
    return Normalised(
        shape="groq.chat.chunk",
        usage=result.usage,
        model=text(payload, ("model",)),
        response_id=text(payload, ("id",)) or text(payload, ("x_groq", "id")),
        provider="groq",
    )
