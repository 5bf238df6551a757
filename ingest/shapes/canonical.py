"""cachemeter's own canonical counts (also genai-prices' Usage names), e.g. from CSV imports.

`input_tokens` INCLUDES `cache_read_tokens` and `cache_write_tokens`;
`cache_write_1h_tokens` is part of `cache_write_tokens`; `reasoning_tokens` is inside
`output_tokens`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from billing.usage import TOKEN_FIELDS
from ingest.fields import count
from ingest.shapes.base import Normalised, make_usage


def is_canonical(usage: Mapping[str, Any]) -> bool:
    """True for a usage object in canonical names (no provider uses these two at top level)."""
    return (
        "cache_read_tokens" in usage or "cache_write_tokens" in usage
    ) and "prompt_tokens" not in usage


def normalise(usage: Mapping[str, Any]) -> Normalised:
    """Canonical counts, validated."""
    values = {key: count(usage, (key,), f"usage.{key}") for key in TOKEN_FIELDS}
    return Normalised(
        shape="cachemeter.canonical",
        usage=make_usage(
            "usage",
            input_tokens=values["input_tokens"],
            cache_read=values["cache_read_tokens"],
            cache_write=values["cache_write_tokens"],
            cache_write_1h=values["cache_write_1h_tokens"],
            output=values["output_tokens"],
            reasoning=values["reasoning_tokens"],
        ),
    )
