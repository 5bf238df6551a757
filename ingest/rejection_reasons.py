"""A rejected record's reason class: a short, bounded name for why it was refused, e.g.
`usage.prompt_tokens:negative` or `usage:cache_exceeds_input`.

It is the field path the error names, with list indices and anything not a plain name taken out,
and a kind chosen from the error's wording, never its values: metrics label by it and the
rejections table keeps one row per class, so equal mistakes must meet in one class whatever
numbers or ids the records carried.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ingest.envelope import RecordIn

# The first matching phrase of an error's reason gives its kind; order matters (specific first).
_KINDS = (
    ("cache read (", "cache_exceeds_input"),
    ("1-hour writes", "cache_1h_exceeds_writes"),
    ("must not be negative", "negative"),
    ("must be a whole number", "not_whole"),
    ("must be a non-negative integer", "not_an_integer"),
    ("must be an integer", "not_an_integer"),
    ("NUL", "nul_character"),
    ("lone surrogates", "lone_surrogate"),
    ("characters", "too_long"),
    ("must be at most", "too_large"),
    ("must be a JSON object", "not_an_object"),
    ("must be an object", "not_an_object"),
    ("must be a list", "not_a_list"),
    ("must be a number", "not_a_number"),
    ("finite amount", "not_a_number"),
    ("no input token count", "no_input_tokens"),
    ("unrecognised usage shape", "unrecognised_shape"),
    ("carries no usage", "no_usage"),
    ("carries usage", "no_usage"),
    ("missing", "missing"),
    ("retention horizon", "before_retention"),
    ("in the future", "in_future"),
    ("must be after", "too_early"),
    ("exactly one of", "payload_missing"),
    ("unknown server-side tool", "unknown_tool"),
)
# pydantic's error types are a fixed vocabulary; a few get the names used above.
_PYDANTIC_KINDS = {
    "extra_forbidden": "unknown_field",
    "string_too_long": "too_long",
    "string_too_short": "empty",
    "too_long": "too_long",
    "greater_than": "out_of_range",
    "greater_than_equal": "out_of_range",
    "less_than": "out_of_range",
    "less_than_equal": "out_of_range",
}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
_INDEX = re.compile(r"\[[^\]]*\]")
_PLAIN_KIND = re.compile(r"[a-z_]{1,40}")
MAX_SEGMENTS = 6
# A class fits its column (ingest_rejections.reason, 200) with room for the kind.
MAX_FIELD = 150
# What a record-level error (no field) is filed under.
RECORD = "record"


def kind_of(reason: str) -> str:
    """The kind of an error's reason text (`invalid` when no phrase matches)."""
    for phrase, kind in _KINDS:
        if phrase in reason:
            return kind
    return "invalid"


def field_class(field: str) -> str:
    """A field path without indices or odd segments (`usage.iterations[2].input_tokens` ->
    `usage.iterations.input_tokens`), at most MAX_SEGMENTS names deep."""
    names = []
    for segment in _INDEX.sub("", field).split("."):
        if not segment or segment.isdigit():
            continue
        names.append(segment if _NAME.fullmatch(segment) else "*")
    return ".".join(names[:MAX_SEGMENTS])[:MAX_FIELD] or RECORD


def payload_reason(field: str, reason: str) -> str:
    """The class of a PayloadError (its field path and reason text)."""
    return f"{field_class(field)}:{kind_of(reason)}"


def validation_field(errors: Sequence[Mapping[str, Any]]) -> str:
    """Where the first pydantic error points, as `describe_validation_error` writes it."""
    loc = errors[0].get("loc", ()) if errors else ()
    return ".".join(str(p) for p in loc) or RECORD


def validation_reason(errors: Sequence[Mapping[str, Any]]) -> str:
    """The class of a record's pydantic errors, from the first: the record field it names (a
    field the sender made up, or a tag's key, is not a class of its own) and the error type."""
    if not errors:
        return f"{RECORD}:invalid"
    first = errors[0]
    loc = first.get("loc", ())
    top = loc[0] if loc else None
    field = top if isinstance(top, str) and top in RecordIn.model_fields else RECORD
    error_type = str(first.get("type", ""))
    if error_type == "value_error":
        kind = kind_of(str(first.get("msg", "")))
    else:
        kind = _PYDANTIC_KINDS.get(error_type) or (
            error_type if _PLAIN_KIND.fullmatch(error_type) else "invalid"
        )
    return f"{field}:{kind}"
