"""Strings that end up in PostgreSQL text columns, which hold neither NUL characters nor lone
surrogates (a Python string may carry one, from a JSON `\\ud83d` escape, but UTF-8 cannot)."""

from __future__ import annotations

import re

from pydantic import AfterValidator

# What a text column cannot hold: NUL, and surrogates (paired ones never occur in a Python
# string: they are one character).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_reason(value: str) -> str | None:
    """Why a text column cannot hold `value`, or None when it can."""
    if "\x00" in value:
        return "must not contain NUL characters"
    # An ASCII string (most of them; CPython knows at no cost) holds no surrogate.
    if not value.isascii() and UNSTORABLE.search(value):
        return "must not contain lone surrogates (not valid Unicode text)"
    return None


def storable(value: str) -> str:
    """`value` with what a text column cannot hold replaced by U+FFFD: for text cachemeter
    writes about what it was sent (an error naming a field), never for the data itself."""
    return UNSTORABLE.sub("\ufffd", value)


def _no_nul(value: str) -> str:
    # Refused at validation, with the field's name, rather than failing the whole request
    # when the database refuses it.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# Add to an Annotated str: Annotated[str, StringConstraints(...), NoNul].
NoNul = AfterValidator(_no_nul)
