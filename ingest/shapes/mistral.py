"""Mistral: OpenAI-shaped, `prompt_tokens` INCLUDES cached tokens.

The cached count is `prompt_tokens_details.cached_tokens`, also seen as
`prompt_token_details.cached_tokens` (sic) or a top-level `num_cached_tokens`: one count.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingest.shapes.base import Normalised
from ingest.shapes.openai_chat import CACHED, ChatVariant
from ingest.shapes.openai_chat import normalise as chat

VARIANT = ChatVariant(
    cached=(CACHED, ("prompt_token_details", "cached_tokens"), ("num_cached_tokens",)), written=()
)


def normalise(payload: Mapping[str, Any]) -> Normalised:
    """A Mistral chat completion or its usage object."""
    return chat(payload, VARIANT)
