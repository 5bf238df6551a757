"""Reading provider payloads tolerantly: nulls are absent, counts must be non-negative integers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, TypeGuard

from billing.usage import MAX_TOKENS
from ingest.errors import PayloadError

MAX_MONEY = Decimal(10) ** 9

Path = tuple[str, ...]


def is_object(value: Any) -> TypeGuard[Mapping[str, Any]]:
    """True for a JSON object (a mapping)."""
    # Decoded JSON objects are dicts: the exact-type test first spares the abstract base
    # class's instance check, which shape detection would otherwise make dozens of times a
    # record.
    kind = type(value)
    return kind is dict or (kind not in _NOT_OBJECTS and isinstance(value, Mapping))


# The other types decoded JSON holds: never mappings, so no abstract-class check either.
_NOT_OBJECTS = frozenset((list, str, int, float, bool, type(None)))


def dig(obj: Any, path: Path) -> Any:
    """The value at `path` inside nested mappings, or None where any step is missing or null."""
    for key in path:
        if type(obj) is not dict and not is_object(obj):
            return None
        obj = obj.get(key)
        if obj is None:
            return None
    return obj


def mapping(obj: Any, path: Path, label: str) -> Mapping[str, Any] | None:
    """A nested object, None when absent; anything else than an object is an error."""
    value = dig(obj, path)
    if value is None or is_object(value):
        return value
    raise PayloadError(label, f"must be an object, got {type(value).__name__}")


def count(obj: Any, path: Path, label: str | None = None) -> int | None:
    """A token count at `path`: None when absent or null, else a non-negative integer."""
    value = dig(obj, path)
    if value is None:
        return None
    if type(value) is int and 0 <= value <= MAX_TOKENS:
        return value  # the common case, before the checks that word each error
    name = label or ".".join(path)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(name, f"must be a non-negative integer, got {value!r}")
    if isinstance(value, float):
        if not value.is_integer():
            raise PayloadError(name, f"must be a whole number of tokens, got {value!r}")
        value = int(value)
    if value < 0:
        raise PayloadError(name, f"must not be negative, got {value}")
    if value > MAX_TOKENS:
        raise PayloadError(name, f"must be at most {MAX_TOKENS:,}, got {value:,}")
    return value


def same_tokens(obj: Any, paths: Sequence[Path], prefix: str) -> int | None:
    """One count reported under several names (mirrors, aliases): counted once.

    Where several are present the largest wins, so a mirror defaulted to 0 by an SDK cannot
    hide the real figure.
    """
    values = [v for p in paths if (v := count(obj, p, f"{prefix}.{'.'.join(p)}")) is not None]
    return max(values) if values else None


def text(obj: Any, path: Path, max_length: int = 256) -> str | None:
    """A string at `path`, or None; numbers are accepted as ids and turned into text."""
    value = dig(obj, path)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        return None
    if len(value) > max_length or "\x00" in value:
        raise PayloadError(".".join(path), f"must be at most {max_length} characters of text")
    return value


def money(obj: Any, path: Path, label: str) -> Decimal | None:
    """A provider-reported amount (e.g. OpenRouter `usage.cost`) as Decimal, never float."""
    value = dig(obj, path)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PayloadError(label, f"must be a number, got {value!r}")
    try:
        # str() first: Decimal(0.95) would carry the float's binary error into the books.
        amount = Decimal(str(value))
    except InvalidOperation:
        raise PayloadError(label, f"must be a number, got {value!r}") from None
    if not amount.is_finite() or abs(amount) >= MAX_MONEY:
        raise PayloadError(label, f"must be a finite amount below {MAX_MONEY:,}, got {value!r}")
    return amount


# Provider usage objects nest a handful of levels; a body far deeper is hostile or broken.
MAX_JSON_DEPTH = 32


def nested_deeper(value: Any, limit: int) -> bool:
    """True when decoded JSON nests objects/arrays more than `limit` levels deep."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if type(node) is dict else node if type(node) is list else ()
        stack.extend((c, depth + 1) for c in children if type(c) is dict or type(c) is list)
    return False
