"""Strings that end up in PostgreSQL text columns, which cannot hold NUL characters."""

from __future__ import annotations

from pydantic import AfterValidator


def _no_nul(value: str) -> str:
    # Refused at validation, with the field's name, rather than failing the whole request
    # when the database refuses it.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# Add to an Annotated str: Annotated[str, StringConstraints(...), NoNul].
NoNul = AfterValidator(_no_nul)
