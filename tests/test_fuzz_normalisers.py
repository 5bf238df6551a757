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
from tests.mutation import mutants
from tests.usage_fixtures import load_fixtures

FIXTURES = load_fixtures(include_otel=False)


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f["name"] for f in FIXTURES])
def test_mutated_payloads_are_read_or_refused_cleanly(fixture: dict[str, Any]) -> None:
    @given(payload=mutants(fixture["payload"]), as_usage=st.booleans())
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
