"""Keep the usage-bearing parts of a payload and drop everything that could carry text.

cachemeter never stores prompt or completion text, yet whole response bodies arrive with it;
an allow-list (not a block-list) keeps new text fields out by default.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from billing.text import unstorable_reason
from ingest.fields import is_object

# Objects kept whole: they hold counts and costs only.
_USAGE_KEYS = frozenset({"usage", "usageMetadata", "usage_metadata", "metrics", "x_groq"})
# Scalars kept for audit and re-normalisation.
_SCALAR_KEYS = frozenset(
    {
        "id",
        "object",
        "model",
        "created",
        "created_at",
        "type",
        "status",
        "modelVersion",
        "model_version",
        "responseId",
        "response_id",
        "service_tier",
        "system_fingerprint",
        "stopReason",
        "stop_reason",
        "provider",
        "sequence_number",
    }
)
# Nested bodies that are themselves responses (stream events wrap them).
_BODY_KEYS = frozenset({"response", "message", "metadata", "ResponseMetadata"})


def _storable(text: str) -> bool:
    return unstorable_reason(text) is None


def _only_numbers(value: Any) -> Any:
    # What this keeps, a JSONB column can hold: no NUL or lone surrogate in any text, no NaN
    # or infinity (so store.limits need not walk a redacted payload again).
    if type(value) is int:
        return value  # most of a usage object: counts
    if is_object(value):
        return {k: _only_numbers(v) for k, v in value.items() if _storable(str(k))}
    if isinstance(value, list):
        return [_only_numbers(v) for v in value]
    if isinstance(value, str) and (len(value) > 64 or not _storable(value)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def redact(payload: Any) -> Any:
    """The payload without content: ids, model, and usage objects only; never a NUL or lone
    surrogate in its text nor a NaN or infinite number (a JSONB column holds what it returns)."""
    if isinstance(payload, list):
        return [redact(item) for item in payload]
    if not is_object(payload):
        return _only_numbers(payload)
    kept: dict[str, Any] = {}
    for key, value in payload.items():
        if not _storable(str(key)):
            continue
        if key in _USAGE_KEYS:
            kept[key] = _only_numbers(value)
        elif key in _BODY_KEYS and is_object(value):
            kept[key] = redact(value)
        elif key in _SCALAR_KEYS and not isinstance(value, Mapping | list):
            kept[key] = _only_numbers(value)
        elif not isinstance(value, Mapping | list | str):
            # Numbers and booleans at the top of a bare usage object are counts, not text.
            kept[key] = _only_numbers(value)
    return kept
