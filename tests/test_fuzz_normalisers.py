"""Hypothesis mutates every real fixture payload (values swapped for hostile ones, keys
dropped or added, containers nested or emptied) and sends it through the whole record path:
each mutant is either read or refused with a clean PayloadError / ValidationError."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ingest.detect import normalise_payload
from ingest.envelope import RecordIn
from ingest.errors import PayloadError
from ingest.record import build_record
from tests.usage_fixtures import load_fixtures

FIXTURES = load_fixtures(include_otel=False)
HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(["", "12", "-1", "1e9", "NaN", "\x00", "ünïcode", "9" * 40]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=3),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every location in a JSON document, containers included."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


def _mutate(document: Any, path: tuple[Any, ...], action: str, value: Any) -> Any:
    """A copy of `document` with the node at `path` replaced, removed or wrapped."""
    if not path:
        return value if action == "replace" else [document] if action == "wrap" else {}
    head, rest = path[0], path[1:]
    copy: Any = dict(document) if isinstance(document, dict) else list(document)
    if rest:
        copy[head] = _mutate(copy[head], rest, action, value)
    elif action == "remove":
        del copy[head]
    elif action == "wrap":
        copy[head] = {"nested": copy[head]}
    elif action == "add" and isinstance(copy, dict):
        copy[f"{head}_extra"] = value
    else:
        copy[head] = value
    return copy


@st.composite
def mutants(draw: st.DrawFn, fixture: dict[str, Any]) -> Any:
    payload = fixture["payload"]
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(_paths(payload)))
        action = draw(st.sampled_from(["replace", "replace", "remove", "wrap", "add"]))
        payload = _mutate(payload, path, action, draw(HOSTILE))
    return payload


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f["name"] for f in FIXTURES])
def test_mutated_payloads_are_read_or_refused_cleanly(fixture: dict[str, Any]) -> None:
    @given(payload=mutants(fixture), as_usage=st.booleans())
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    def check(payload: Any, as_usage: bool) -> None:
        try:
            normalise_payload(payload, fixture.get("provider"))
        except PayloadError as exc:
            assert exc.field and str(exc)
        body = {"provider": fixture.get("provider"), "model": fixture.get("model")}
        body["usage" if as_usage else "response"] = payload
        try:
            record = RecordIn.model_validate(body)
            build_record(
                record, tenant="t", source="push", received_at=datetime(2026, 11, 25, tzinfo=UTC)
            )
        except (PayloadError, ValidationError):
            pass

    check()
