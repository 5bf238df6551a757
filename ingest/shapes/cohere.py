"""Cohere v2 chat: `usage.billed_units` (the tokens Cohere charges) beside `usage.tokens` (all
tokens processed, including the prompt template Cohere adds, which it does not bill).

The billed units are what a price applies to, so they are the counts: input =
`billed_units.input_tokens`, output = `billed_units.output_tokens`. `cached_tokens` is left out:
no Cohere cache-read rate is known here, and how it relates to the billed units is not
documented.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingest.errors import PayloadError
from ingest.fields import count, is_object, mapping, text
from ingest.shapes.base import Normalised, make_usage


def is_usage(obj: Mapping[str, Any]) -> bool:
    """True for a Cohere v2 usage object (it has `billed_units`)."""
    return is_object(obj.get("billed_units"))


def normalise(payload: Mapping[str, Any]) -> Normalised:
    """A chat response, or its usage object alone."""
    body: Mapping[str, Any] = {}
    usage: Mapping[str, Any] = payload
    if not is_usage(payload):
        found = mapping(payload, ("usage",), "usage")
        if found is None or not is_usage(found):
            raise PayloadError("usage.billed_units", "missing: this Cohere payload has no usage")
        usage, body = found, payload
    billed = "usage.billed_units"
    return Normalised(
        shape="cohere.chat",
        usage=make_usage(
            billed,
            input_tokens=count(usage, ("billed_units", "input_tokens"), f"{billed}.input_tokens"),
            output=count(usage, ("billed_units", "output_tokens"), f"{billed}.output_tokens"),
        ),
        model=text(body, ("model",)),
        response_id=text(body, ("id",)),
        provider="cohere",
    )
