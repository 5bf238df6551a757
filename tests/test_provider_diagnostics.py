"""The providers' own diagnoses of cache misses (Anthropic cache diagnostics, OpenAI
prompt_cache_diagnostics) are read, stored, and preferred as a regression's cause. Payload
parts are built with the real SDKs' types, so they have the shape the APIs document."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from anthropic.types import Diagnostics
from openai.types.responses.response import (
    PromptCacheDiagnosticsCacheHit,
    PromptCacheDiagnosticsCacheMiss,
)
from sqlalchemy import Engine, text

from ingest.detect import normalise_payload
from tests.test_regressions import T0, _hit_rate_openings, _ingest, _run, _stream

SYSTEM_CHANGED = Diagnostics.model_validate(
    {"cache_miss_reason": {"type": "system_changed", "cache_missed_input_tokens": 4000}}
).model_dump(mode="json")


def _message(hit: bool, diagnostics: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [],
        "usage": {
            "input_tokens": 100,
            "output_tokens": 50,
            "cache_read_input_tokens": 4000 if hit else 0,
            "cache_creation_input_tokens": 0 if hit else 4000,
        },
    }
    if diagnostics is not None:
        body["diagnostics"] = diagnostics
    return body


def test_anthropic_diagnostics_are_read_from_messages_and_streams() -> None:
    read = normalise_payload(_message(False, SYSTEM_CHANGED), "anthropic")
    assert (read.cache_miss_reason, read.cache_missed_tokens) == ("system_changed", 4000)
    # Pending (null reason) and no comparison (no token count) are read as they are.
    pending = normalise_payload(_message(False, {"cache_miss_reason": None}), "anthropic")
    assert pending.cache_miss_reason is None
    unavailable = Diagnostics.model_validate({"cache_miss_reason": {"type": "unavailable"}})
    read = normalise_payload(_message(False, unavailable.model_dump(mode="json")), "anthropic")
    assert (read.cache_miss_reason, read.cache_missed_tokens) == ("unavailable", None)
    start = {"type": "message_start", "message": _message(False, SYSTEM_CHANGED)}
    delta = {"type": "message_delta", "usage": {"output_tokens": 50}}
    streamed = normalise_payload([start, delta], "anthropic")
    assert (streamed.cache_miss_reason, streamed.cache_missed_tokens) == ("system_changed", 4000)


def _response(diagnostics: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "response",
        "model": "gpt-5.6",
        "output": [],
        "prompt_cache_diagnostics": diagnostics,
        "usage": {
            "input_tokens": 5000,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 20,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 5020,
        },
    }


def test_openai_prompt_cache_diagnostics_are_read() -> None:
    miss = PromptCacheDiagnosticsCacheMiss(
        type="cache_miss", reason="input_changed", cache_missed_tokens=3000
    ).model_dump(mode="json")
    read = normalise_payload(_response(miss), "openai")
    assert (read.cache_miss_reason, read.cache_missed_tokens) == ("input_changed", 3000)
    hit = PromptCacheDiagnosticsCacheHit(type="cache_hit").model_dump(mode="json")
    assert normalise_payload(_response(hit), "openai").cache_miss_reason is None


CHANGE = timedelta(hours=30)


def _diagnosed(minute: int, rng: random.Random) -> dict[str, Any]:
    """Steady at ~88%; from CHANGE the system prompt changes every request, and Anthropic's
    diagnostics say so (the prefix hash is not sent, so inference alone could not tell)."""
    if timedelta(minutes=minute) >= CHANGE:
        return {"response": _message(False, SYSTEM_CHANGED)}
    return {"response": _message(rng.random() < 0.88, None)}


def test_a_regression_prefers_the_providers_diagnosis_and_says_so(engine: Engine) -> None:
    _ingest(engine, _stream("diagnosed", 32 * 60, _diagnosed, seed=8))
    with engine.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT provider_miss_reason, provider_missed_tokens, count(*) FROM usage_events"
                " GROUP BY 1, 2 ORDER BY 1"
            )
        ).all()
    assert [tuple(r) for r in stored] == [("system_changed", 4000, 120), (None, None, 1800)]
    with engine.connect() as conn:
        # The diagnosed misses count as prefix changes in the miss causes and their rollups
        # (no prefix hash was sent: inference alone could not have told).
        hints = conn.execute(
            text(
                "SELECT count(*) FROM usage_events WHERE provider_miss_reason IS NOT NULL"
                " AND miss_hint = 'prefix_changed'"
            )
        ).scalar_one()
        rolled = conn.execute(
            text(
                "SELECT sum(miss_prefix_changed) FROM usage_hourly"
                " WHERE hour >= :at AND app = 'diagnosed'"
            ),
            {"at": T0 + CHANGE},
        ).scalar_one()
    assert hints == 120 and rolled == 120
    events = _run(engine, timedelta(hours=30), timedelta(hours=31), every=timedelta(minutes=5))
    [(at, regression)] = _hit_rate_openings(events)
    assert T0 + CHANGE < at <= T0 + CHANGE + timedelta(minutes=30)
    assert regression["cause"] == "system_changed"
    assert regression["details"]["cause_source"] == "provider"


def test_without_a_diagnosis_the_cause_is_inferred_and_says_so(engine: Engine) -> None:
    def undiagnosed(minute: int, rng: random.Random) -> dict[str, Any]:
        body = _diagnosed(minute, rng)
        body["response"].pop("diagnostics", None)
        if timedelta(minutes=minute) >= CHANGE:
            body["prefix_hash"] = f"v2-{minute}"
        return body

    _ingest(engine, _stream("inferred", 32 * 60, undiagnosed, seed=9))
    events = _run(engine, timedelta(hours=30), timedelta(hours=31), every=timedelta(minutes=5))
    [(_, regression)] = _hit_rate_openings(events)
    assert regression["cause"] == "prefix_changed"
    assert regression["details"]["cause_source"] == "inferred"
