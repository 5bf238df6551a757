"""Moonshot / Kimi chat: OpenAI-shaped, `prompt_tokens` INCLUDES cached tokens.

Cached tokens appear at the top level (`usage.cached_tokens`) and/or in
`prompt_tokens_details.cached_tokens`: the same tokens, counted once. Kimi bills cache writes
since 2026 but the field name is not confirmed, so the common write fields are read if present.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingest.shapes.base import Normalised
from ingest.shapes.openai_chat import CACHED, GENERIC, ChatVariant
from ingest.shapes.openai_chat import normalise as chat

VARIANT = ChatVariant(
    cached=(("cached_tokens",), CACHED), written=GENERIC.written, written_1h=GENERIC.written_1h
)


def normalise(payload: Mapping[str, Any]) -> Normalised:
    """A Kimi chat completion, final stream chunk, or usage object."""
    return chat(payload, VARIANT)
