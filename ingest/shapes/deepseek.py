"""DeepSeek chat: OpenAI-shaped, `prompt_tokens` = hit + miss (INCLUDED).

The hit count appears as `prompt_cache_hit_tokens` and again as
`prompt_tokens_details.cached_tokens`: the same tokens, counted once. No cache writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingest.fields import count, is_object
from ingest.shapes.base import Normalised
from ingest.shapes.openai_chat import CACHED, ChatVariant
from ingest.shapes.openai_chat import normalise as chat

VARIANT = ChatVariant(
    cached=(("prompt_cache_hit_tokens",), CACHED), written=(), shape="deepseek.chat"
)


def normalise(payload: Mapping[str, Any]) -> Normalised:
    """A DeepSeek chat completion or its usage object."""
    usage = payload.get("usage", payload)
    if is_object(usage) and usage.get("prompt_tokens") is None:
        hit = count(usage, ("prompt_cache_hit_tokens",))
        miss = count(usage, ("prompt_cache_miss_tokens",))
        if hit is not None and miss is not None:
            # Older stream chunks carry only hit and miss; their sum is the prompt.
            usage = {**usage, "prompt_tokens": hit + miss}
            payload = {**payload, "usage": usage} if "usage" in payload else usage
    return chat(payload, VARIANT)
