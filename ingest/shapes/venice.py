"""Venice: OpenAI-shaped, `prompt_tokens` INCLUDES reads and writes.

Reads in `prompt_tokens_details.cached_tokens`, writes in
`prompt_tokens_details.cache_creation_input_tokens`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingest.shapes.base import Normalised
from ingest.shapes.openai_chat import CACHED, ChatVariant
from ingest.shapes.openai_chat import normalise as chat

VARIANT = ChatVariant(
    cached=(CACHED,), written=(("prompt_tokens_details", "cache_creation_input_tokens"),)
)


def normalise(payload: Mapping[str, Any]) -> Normalised:
    """A Venice chat completion or its usage object."""
    return chat(payload, VARIANT)
