"""Explicit-cache storage rates (per million tokens per hour) genai-prices does not model."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache

from genai_prices.data_snapshot import find_provider_by_id, get_snapshot

# Google's published context-caching storage prices, USD per 1M tokens per hour.
PUBLISHED = {
    ("google", "gemini-2.5-pro"): Decimal("4.50"),
    ("google", "gemini-2.5-flash"): Decimal("1.00"),
    ("google", "gemini-2.5-flash-lite"): Decimal("1.00"),
    ("google", "gemini-2.0-flash"): Decimal("1.00"),
}
# genai-prices states the storage price of newer models in its comments, e.g.
# "The cache storage price ($0.50 per 1M tokens per hour) has no unit ... and is not represented".
_COMMENT = re.compile(r"cache storage price \(\$([0-9.]+) per 1M tokens per hour\)")


@lru_cache(maxsize=1024)
def published_storage_rate(provider: str, model: str) -> Decimal | None:
    """The list storage rate of a model, if one is published."""
    if (provider, model) in PUBLISHED:
        return PUBLISHED[(provider, model)]
    found = find_provider_by_id(get_snapshot().providers, provider)
    info = found.find_model(model) if found is not None else None
    match = _COMMENT.search(info.price_comments or "") if info is not None else None
    return Decimal(match.group(1)) if match else None
