"""LiteLLM's normalised usage: OpenAI-shaped, `prompt_tokens` INCLUDES reads and writes.

Reads `prompt_tokens_details.cached_tokens` (mirrored at top level as
`cache_read_input_tokens`) and `prompt_tokens_details.cache_write_tokens` /
`cache_creation_tokens` (mirrored as `cache_creation_input_tokens`): each mirror is the same
tokens, counted once. The TTL split is `prompt_tokens_details.cache_creation_token_details`.
LiteLLM's own response cache (`cache_hit`, `saved_cache_cost`) is not prompt caching.
Its computed charge (`response_cost`, or `_hidden_params.response_cost`) is kept for
reconciliation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingest.shapes.base import Normalised
from ingest.shapes.openai_chat import CACHED, WRITTEN, ChatVariant
from ingest.shapes.openai_chat import normalise as chat

VARIANT = ChatVariant(
    cached=(CACHED, ("cache_read_input_tokens",)),
    written=(
        WRITTEN,
        ("prompt_tokens_details", "cache_creation_tokens"),
        ("cache_creation_input_tokens",),
    ),
    written_1h=(
        ("prompt_tokens_details", "cache_creation_token_details", "ephemeral_1h_input_tokens"),
    ),
    body_cost=(("response_cost",), ("_hidden_params", "response_cost")),
    shape="litellm.usage",
)


def normalise(payload: Mapping[str, Any]) -> Normalised:
    """A LiteLLM ModelResponse or its usage object."""
    return chat(payload, VARIANT)
