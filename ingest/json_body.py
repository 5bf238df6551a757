"""The one JSON reader for every body cachemeter accepts (API, OTLP/JSON, imported files).

Strict RFC 8259: NaN, Infinity, numbers that overflow a double and lone surrogates are refused
where they are read, so no later step (a validation message, a JSONB column) meets a value
it cannot encode; nesting is bounded, so no walk over a hostile body can exhaust the stack.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson

from ingest.errors import PayloadError
from ingest.fields import MAX_JSON_DEPTH, nested_deeper


class NotJSON(PayloadError):
    """A body that is not RFC 8259 JSON at all (HTTP 400, where nesting too deep is 422)."""


def parse_json(
    data: bytes | str,
    *,
    field: str = "body",
    max_depth: int | None = MAX_JSON_DEPTH,
    decimals: bool = False,
) -> Any:
    """The value of a JSON text; NotJSON when it is not strict JSON, PayloadError when it nests
    deeper than `max_depth` (None: a batch, whose items are checked one by one). With
    `decimals`, fractions are Decimal (prices, never floats)."""
    try:
        value = orjson.loads(data)
        if decimals:
            # orjson has vetted the text; the standard parser keeps fractions exact.
            value = json.loads(data, parse_float=Decimal)
    except orjson.JSONDecodeError as exc:
        raise NotJSON(field, f"not valid JSON (RFC 8259): {exc}") from None
    if max_depth is not None and nested_deeper(value, max_depth):
        raise PayloadError(field, f"JSON nested deeper than {max_depth} levels")
    return value
