"""What each column can hold, checked on a row before it is written.

Values are checked after normalisation (case folding, aliasing, canonical names), where a
request's own validation can no longer see them: a 64-character provider can lower-case to
more characters, an alias can resolve to a longer name. A value a column cannot hold rejects
its own record, naming the field, instead of failing the whole batch in the database.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, Numeric, SmallInteger, String, Table
from sqlalchemy.dialects.postgresql import JSONB

from billing.moments import OutOfRange, in_utc
from billing.text import unstorable_reason
from store.models import CacheObject, PriceRow, UsageEvent

Check = Callable[[Any], str | None]


class ColumnLimit(ValueError):
    """A value its column cannot hold; `column` names it."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(f"{column}: {reason}")
        self.column = column
        self.reason = reason


def _text(length: int | None) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return None
        # ASCII, the common case, holds no surrogate (billing.text): one call fewer a value.
        if "\x00" in value or not value.isascii():
            reason = unstorable_reason(value)
            if reason is not None:
                return reason
        if length is not None and len(value) > length:
            return f"{len(value)} characters once normalised; the limit is {length}"
        return None

    return check


def _integer(bits: int) -> Check:
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

    def check(value: Any) -> str | None:
        if isinstance(value, int) and not low <= value <= high:
            return f"{value} is outside the stored range [{low}, {high}]"
        return None

    return check


def _numeric(precision: int, scale: int) -> Check:
    bound = Decimal(10) ** (precision - scale)

    def check(value: Any) -> str | None:
        # Money is nearly always a Decimal already: no conversion, no union instance check.
        if type(value) is Decimal:
            if not value.is_finite() or abs(value) >= bound:
                return f"{value} is outside the stored range (below {bound:,} in magnitude)"
            return None
        if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
            number = Decimal(value) if not isinstance(value, float) else Decimal(repr(value))
            if not number.is_finite() or abs(number) >= bound:
                return f"{value} is outside the stored range (below {bound:,} in magnitude)"
        return None

    return check


def _moment(value: Any) -> str | None:
    if value is None or not hasattr(value, "astimezone"):
        return None
    try:
        in_utc(value)
    except OutOfRange as exc:
        return str(exc)
    return None


def _json(value: Any) -> str | None:
    """JSONB holds no NUL or lone surrogate in text and no NaN or infinity."""
    stack = [value]
    while stack:
        node = stack.pop()
        kind = type(node)
        # Parsed JSON is dicts, lists, strings and numbers: exact type tests first (an ABC
        # instance check per node was most of a row's checking).
        if kind is dict:
            stack.extend(node.keys())
            stack.extend(node.values())
        elif kind is int or kind is bool or node is None:
            continue
        elif isinstance(node, str):
            if (reason := unstorable_reason(node)) is not None:
                return reason
        elif isinstance(node, float):
            if not math.isfinite(node):
                return "must not contain NaN or infinite numbers"
        elif isinstance(node, Mapping):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)
    return None


def _check_of(column_type: Any) -> Check | None:
    if isinstance(column_type, String):
        return _text(column_type.length)
    if isinstance(column_type, BigInteger):
        return _integer(64)
    if isinstance(column_type, SmallInteger):
        return _integer(16)
    if isinstance(column_type, Integer):
        return _integer(32)
    if isinstance(column_type, Numeric) and column_type.precision is not None:
        return _numeric(column_type.precision, column_type.scale or 0)
    if isinstance(column_type, DateTime):
        return _moment
    if isinstance(column_type, JSONB):
        return _json
    return None


@cache
def _checks(table: Table) -> dict[str, Check]:
    return {c.name: check for c in table.columns if (check := _check_of(c.type)) is not None}


def check_row(table: Table, row: Mapping[str, Any], held: Collection[str] = ()) -> None:
    """Raise ColumnLimit for the first value of `row` its column in `table` cannot hold;
    `held`: columns whose values the caller made holdable already (not walked again)."""
    checks = _checks(table)
    for name, value in row.items():
        if value is None or name in held:
            continue
        check = checks.get(name)
        if check is not None and (reason := check(value)) is not None:
            raise ColumnLimit(name, reason)


EVENTS: Table = UsageEvent.__table__  # type: ignore[assignment]
CACHES: Table = CacheObject.__table__  # type: ignore[assignment]
PRICES: Table = PriceRow.__table__  # type: ignore[assignment]
