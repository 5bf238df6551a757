"""Column limits: a value its column cannot hold rejects its record, naming the column,
whatever the value's Python type (the checks' fast paths for parsed JSON and Decimals agree
with their general ones)."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from ingest.metrics import IngestMetrics
from ingest.redact import redact
from ingest.service import Ingestor
from store.limits import EVENTS, ColumnLimit, check_row
from store.tenants import ensure_tenant


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
        # A lone surrogate (a JSON "\\ud83d" escape the standard json module reads) is no
        # UTF-8 text, in a text column or inside JSONB.
        ({"model": "gpt-\ud83d"}, "model"),
        ({"request_id": "\udc00"}, "request_id"),
        ({"raw": {"usage": {"n\udfff": 1}}}, "raw"),
        ({"tags": {"team": "é\ud800"}}, "tags"),
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
            # Paired surrogates are one character in Python: an astral letter is text.
            "model": "\U0001d538\ud7ff\ue000",
        },
    )


def test_a_record_carrying_a_lone_surrogate_is_refused_alone(engine: Engine) -> None:
    """A Python-built record (a collector's: the LiteLLM spend-log import reads JSON with the
    standard module, which takes `\\ud83d`) whose payload carries a lone surrogate is refused,
    naming the field; the rest of its batch is stored (the database would have refused the
    whole batch)."""
    with engine.begin() as conn:
        tenant = ensure_tenant(conn, "surrogates")
    usage = {"prompt_tokens": 3, "completion_tokens": 1}
    good = {"provider": "openai", "response": {"model": "gpt-4o", "usage": usage}}
    bad_model = {"provider": "openai", "response": {"model": "gpt-\ud83d", "usage": usage}}
    bad_id = {"provider": "openai", "response": {"id": "x\udc00", "usage": usage}}
    result = Ingestor(engine, IngestMetrics(CollectorRegistry())).ingest(
        tenant, [good, bad_model, bad_id], source="push", received_at=datetime.now(UTC)
    )
    assert result.accepted == 1
    assert [(r.index, r.field) for r in result.rejected] == [(1, "model"), (2, "request_id")]
    assert all("lone surrogates" in r.error for r in result.rejected)
    assert {r.reason for r in result.rejected} == {
        "model:lone_surrogate",
        "request_id:lone_surrogate",
    }


_text = st.text(
    alphabet=st.sampled_from(["a", "\x00", "é", "\ud7ff", "\ud800", "\udfff", "\ue000", "7"]),
    max_size=80,
)
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
