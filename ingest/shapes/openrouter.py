"""OpenRouter: OpenAI-shaped; cache reads (`prompt_tokens_details.cached_tokens`) and writes
(`prompt_tokens_details.cache_write_tokens`) are INSIDE `prompt_tokens`.

`usage.cost` is what OpenRouter charged: kept for reconciliation, never used as our price.
Its response cache (`X-OpenRouter-Cache`) is not provider prompt caching and is not read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingest.shapes.base import Normalised
from ingest.shapes.openai_chat import CACHED, WRITTEN, ChatVariant
from ingest.shapes.openai_chat import normalise as chat

VARIANT = ChatVariant(cached=(CACHED,), written=(WRITTEN,), cost=("cost",))


def normalise(payload: Mapping[str, Any]) -> Normalised:
    """An OpenRouter completion, final stream chunk, or usage object."""
    return chat(payload, VARIANT)
