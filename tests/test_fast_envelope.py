"""The compiled fast path (ingest.fast_envelope) accepts a record only as RecordIn does.

Whatever the fast path accepts, RecordIn accepts with exactly the same values; whatever it
declines goes through RecordIn, so refusals and their messages are RecordIn's own. The
records are generated around every rule of RecordIn (lengths at and past each limit,
whitespace to strip, NUL, Unicode spaces, times at the ends of the supported range and in
every ISO form, numbers that are bools, strings or not finite, unknown fields).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from pydantic import ValidationError
from sqlalchemy import Engine, text

from ingest.envelope import RecordIn
from ingest.fast_envelope import fast_record
from ingest.metrics import IngestMetrics
from ingest.service import Ingestor
from store.tenants import ensure_tenant

CORPUS = Path(__file__).parent / "corpus"

# Characters each rule turns on: whitespace pydantic strips (and Python's wider set), NUL,
# letters of more than one UTF-8 byte (lengths are code points), lone surrogates (a Python
# string may hold them, UTF-8 may not).
_CHARS = st.sampled_from(
    [
        "a",
        "Z",
        " ",
        "\t",
        "\n",
        "\u3000",
        "\u00a0",
        "\x1c",
        "\x00",
        "é",
        "\U0001d538",
        "\ud800",
        "\udfff",
    ]
)


def _text(limit: int) -> st.SearchStrategy[str]:
    """Strings around a length limit, built from the characters the rules care about."""
    around = st.sampled_from([0, 1, 2, limit - 1, limit, limit + 1])
    return st.one_of(
        st.text(_CHARS, max_size=6),
        st.text("abc-_.:/", min_size=1, max_size=8),
        around.flatmap(lambda n: st.text(_CHARS, min_size=max(n, 0), max_size=max(n, 0))),
        around.map(lambda n: "x" * max(n, 0)),
        around.map(lambda n: " " + "x" * max(n - 1, 0)),
    )


class _Text(str):
    """A str subclass, as a Python-built record (a collector's) may carry."""


class _Provider(StrEnum):
    OPENAI = "openai"


# Values other collectors' Python-built records may carry where text belongs.
_NOT_TEXT: st.SearchStrategy[Any] = st.one_of(
    st.integers(-5, 5),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.just([]),
    st.just({}),
    st.just(b"bytes"),
    st.just(_Text("sub")),
    st.just(_Provider.OPENAI),
    st.just(datetime(2026, 11, 30, tzinfo=UTC)),
)
_MOMENTS = st.sampled_from(
    [
        "2026-11-30T23:59:59Z",
        "2026-11-30T23:59:59.123456789+05:30",
        "2026-11-30 10:00",
        "2026-11-30T10:00:00",
        "2026-11-30",
        "2026-11-30t10:00:00z",
        "2026-02-30T00:00:00Z",
        "1970-01-01T00:00:00Z",
        "1970-01-01T00:30:00+01:00",
        "1999-12-31T23:59:59Z",
        "2000-01-01T00:00:00Z",
        "2000-01-01T00:30:00+01:00",
        "2199-12-31T23:59:59-01:00",
        "2199-12-31T23:59:59Z",
        "2200-01-01T00:00:00Z",
        "20261130T100000Z",
        "2026-W48-1",
        " 2026-11-30T10:00:00Z",
        "",
    ]
)


class _Millis(IntEnum):
    SOME = 300


class _RaisingMapping(Mapping[str, str]):
    """A mapping that fails when read: the fast path must decline it, not raise."""

    def __getitem__(self, key: str) -> str:
        raise RuntimeError("unreadable")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("unreadable")

    def __len__(self) -> int:
        return 1


_MILLIS = st.one_of(
    st.sampled_from([0, 0.0, -0.0, -1, 1, 86_400_000, 86_400_001, 86_400_000.5, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.sampled_from(["300", "x", None, Decimal("300.5"), Decimal("NaN"), _Millis.SOME, 2**64]),
)
_TAGS: st.SearchStrategy[Any] = st.one_of(
    st.dictionaries(_text(64), _text(256), max_size=3),
    st.integers(30, 34).map(lambda n: {f"k{i}": "v" for i in range(n)}),
    st.sampled_from([None, [], {"k": 1}, {"k": None}, {1: "v"}, {"k": b"v"}]),
    st.sampled_from([{_Text("k"): "v"}, {"k": _Text("v")}, {"k": _Provider.OPENAI}]),
    st.just(_RaisingMapping()),
)
_PAYLOAD: st.SearchStrategy[Any] = st.sampled_from(
    [{"prompt_tokens": 1}, [{"usage": {}}], [], 3, "x", None]
)
_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "provider": st.one_of(_text(64), _NOT_TEXT),
    "model": st.one_of(_text(256), _NOT_TEXT),
    "request_id": st.one_of(_text(256), _NOT_TEXT),
    "occurred_at": st.one_of(_MOMENTS, _MOMENTS.map(_Text), _NOT_TEXT),
    "ttft_ms": _MILLIS,
    "latency_ms": _MILLIS,
    "app": st.one_of(_text(128), _NOT_TEXT),
    "team": st.one_of(_text(128), _NOT_TEXT),
    "environment": st.one_of(_text(128), _NOT_TEXT),
    "end_user": st.one_of(_text(256), _NOT_TEXT),
    "prompt_cache_key": st.one_of(_text(256), _NOT_TEXT),
    "prefix_hash": st.one_of(_text(128), _NOT_TEXT),
    "reported_cost": st.sampled_from([None, 0, 1.5, "0.1", 10**10]),
    "tags": _TAGS,
    "unknown": st.just(1),
}


@st.composite
def _records(draw: st.DrawFn) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for name in draw(st.sets(st.sampled_from(sorted(_FIELDS)), max_size=4)):
        record[name] = draw(_FIELDS[name])
    # Mostly one payload, so that most records reach the rules of the other fields.
    carriers = [("usage",)] * 4 + [("response",)] * 4 + [("usage", "response"), ()]
    for name in draw(st.sampled_from(carriers)):
        record[name] = draw(_PAYLOAD)
    return record


def _same_as_record_in(raw: dict[str, Any]) -> bool:
    """Whether the fast path took `raw` (asserting RecordIn takes it with the same values)."""
    fast = fast_record(raw)
    if fast is None:
        return False
    try:
        slow = RecordIn.model_validate(raw)
    except ValidationError as exc:  # pragma: no cover - the failure this test exists for
        pytest.fail(f"the fast path accepted what RecordIn refuses: {raw!r}: {exc}")
    for name in RecordIn.model_fields:
        mine, theirs = getattr(fast, name), getattr(slow, name)
        assert (type(mine), mine) == (type(theirs), theirs), (name, raw)
    # Inside the tags too: the same keys and values, each an exact str.
    assert [(type(k), k, type(v), v) for k, v in fast.tags.items()] == [
        (type(k), k, type(v), v) for k, v in slow.tags.items()
    ], raw
    assert fast.payload is slow.payload
    return True


@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(_records())
def test_whatever_the_fast_path_accepts_record_in_accepts_identically(raw: dict[str, Any]) -> None:
    _same_as_record_in(raw)


def test_the_fast_path_takes_the_common_record_and_declines_what_needs_converting() -> None:
    common = {
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "request_id": "msg_01",
        "occurred_at": "2026-11-30T10:00:00.5+01:00",
        "app": "support",
        "team": "search",
        "environment": "prod",
        "end_user": "u-1",
        "prompt_cache_key": "system-1",
        "prefix_hash": "abc",
        "ttft_ms": 300,
        "latency_ms": 812.5,
        "tags": {"tier": "gold"},
        "usage": {"input_tokens": 5, "cache_read_input_tokens": 4000, "output_tokens": 9},
    }
    assert _same_as_record_in(common)
    assert fast_record(common).occurred_at == datetime(2026, 11, 30, 9, 0, 0, 500000, tzinfo=UTC)  # type: ignore[union-attr]
    # RecordIn converts or strips these: the fast path leaves them to it.
    for change in (
        {"app": " support"},
        {"ttft_ms": "300"},
        {"ttft_ms": True},
        {"reported_cost": 0.25},
        {"occurred_at": "2026-11-30t10:00:00z"},
        # RecordIn refuses these (a lone surrogate is no UTF-8: a LiteLLM spend log's JSON
        # may carry one) or makes a str of them.
        {"app": "app-\ud83d"},
        {"tags": {"tier": "\udc00"}},
        {"provider": _Provider.OPENAI},
        {"tags": {_Text("tier"): "gold"}},
    ):
        assert fast_record({**common, **change}) is None, change


def test_recorded_payloads_take_the_fast_path() -> None:
    """Every recorded payload of the corpus, pushed as a plain record, is validated by the
    fast path (it is the common case, not a rare one) exactly as RecordIn validates it."""
    cases = sorted(CORPUS.rglob("*.json"))
    assert cases
    taken = 0
    for path in cases:
        case = json.loads(path.read_text())
        raw = {
            "provider": case["provider"],
            "model": case["model"],
            "request_id": path.stem,
            "app": "corpus",
            "response": case["payload"],
        }
        taken += _same_as_record_in(raw)
    assert taken == len(cases)


def test_ingest_refuses_a_bad_record_with_record_in_s_message(engine: Engine) -> None:
    """A record the fast path declines still gets RecordIn's answer, naming the field; one it
    declines that RecordIn accepts is stored as RecordIn reads it (stripped)."""
    with engine.begin() as conn:
        tenant = ensure_tenant(conn, "fast-envelope")
    ingestor = Ingestor(engine, IngestMetrics(CollectorRegistry()))
    good = {"provider": "openai", "model": "gpt-4o", "usage": {"prompt_tokens": 3}}
    result = ingestor.ingest(
        tenant,
        [good, {**good, "ttft_ms": -1}, {**good, "app": " padded "}],
        source="push",
        received_at=datetime.now(UTC),
    )
    assert result.accepted == 2
    assert [(r.index, r.field) for r in result.rejected] == [(1, "ttft_ms")]
    assert "greater than or equal to 0" in result.rejected[0].error
    with engine.connect() as conn:
        apps = conn.execute(text("SELECT app FROM usage_events ORDER BY id")).scalars().all()
    assert apps == [None, "padded"]
