"""xAI Grok chat: OpenAI-shaped, `prompt_tokens` INCLUDES `prompt_tokens_details.cached_tokens`.

Unlike OpenAI, `completion_tokens_details.reasoning_tokens` is NOT inside `completion_tokens`:
billed output = completion + reasoning. No cache writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingest.shapes.base import Normalised
from ingest.shapes.openai_chat import CACHED, ChatVariant
from ingest.shapes.openai_chat import normalise as chat

VARIANT = ChatVariant(cached=(CACHED,), written=(), reasoning_inside=False)


def normalise(payload: Mapping[str, Any]) -> Normalised:
    """A Grok chat completion, final stream chunk, or usage object."""
    return chat(payload, VARIANT)
