"""Column limits: a value its column cannot hold rejects its record, naming the column,
whatever the value's Python type (the checks' fast paths for parsed JSON and Decimals agree
with their general ones)."""

from __future__ import annotations

from collections import OrderedDict
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.redact import redact
from store.limits import EVENTS, ColumnLimit, check_row


@pytest.mark.parametrize(
    ("row", "column"),
    [
        # numeric(24, 12): below 10^12 in magnitude, finite.
        ({"cost": Decimal("1e12")}, "cost"),
        ({"cost": Decimal("-1e12")}, "cost"),
        ({"cost": Decimal("NaN")}, "cost"),
        ({"cost": Decimal("Infinity")}, "cost"),
        ({"cost": 10**12}, "cost"),
        ({"cost": float("inf")}, "cost"),
        # JSONB: no NUL in text (keys or values, however deep), no NaN or infinity.
        ({"raw": {"usage": {"note": "a\x00b"}}}, "raw"),
        ({"raw": {"a\x00": 1}}, "raw"),
        ({"raw": [1, [2, {"x": float("nan")}]]}, "raw"),
        ({"raw": OrderedDict(k="\x00")}, "raw"),
        ({"tags": {"team": "x\x00"}}, "tags"),
        ({"provider": "p" * 65}, "provider"),
        ({"input_tokens": 2**63}, "input_tokens"),
    ],
)
def test_a_value_its_column_cannot_hold_names_the_column(
    row: dict[str, object], column: str
) -> None:
    with pytest.raises(ColumnLimit) as caught:
        check_row(EVENTS, row)
    assert caught.value.column == column


def test_values_the_columns_hold_pass() -> None:
    check_row(
        EVENTS,
        {
            "cost": Decimal("999999999999.999999999999"),
            "nocache_cost": 3,
            "savings": Decimal("-0.5"),
            "raw": {"usage": {"input_tokens": 5, "ok": True, "none": None, "f": 1.5}, "l": [1]},
            "tags": {"team": "search"},
            "input_tokens": 2**63 - 1,
            "provider": "p" * 64,
        },
    )


_text = st.text(alphabet=st.sampled_from(["a", "\x00", "é", "\ud7ff", "7"]), max_size=80)
_json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=25,
)


@given(
    st.dictionaries(
        st.sampled_from(["usage", "id", "model", "response", "message", "note", "created"]),
        _json_like,
        max_size=6,
    )
    | _json_like
)
def test_a_redacted_payload_is_always_holdable(payload: object) -> None:
    # Ingest does not walk a redacted payload again (ingest.service.HELD): redact must leave
    # nothing a JSONB column refuses, whatever it was given.
    check_row(EVENTS, {"raw": redact(payload)})
