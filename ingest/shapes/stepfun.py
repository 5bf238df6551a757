"""Stepfun chat: OpenAI-shaped, `prompt_tokens` INCLUDES cached tokens.

The cached count is a TOP-LEVEL `usage.cached_tokens`, absent on a miss. No cache writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingest.shapes.base import Normalised
from ingest.shapes.openai_chat import CACHED, ChatVariant
from ingest.shapes.openai_chat import normalise as chat

VARIANT = ChatVariant(cached=(("cached_tokens",), CACHED), written=(), shape="stepfun.chat")


def normalise(payload: Mapping[str, Any]) -> Normalised:
    """A Stepfun chat completion or its usage object."""
    return chat(payload, VARIANT)
