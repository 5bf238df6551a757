"""Ingest outcomes over time: rejected, duplicate and conflicting records are counted per tenant,
hour of arrival, source and reason class in the batch's own transaction (ingest_outcomes_hourly),
read back by hour or day with the latest conflicts, listed by GET /v1/ingest/outcomes to their
tenant only, and aged out by retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, func, select

from ingest.metrics import IngestMetrics
from ingest.service import Ingestor
from store.models import IngestOutcomeHourly, UsageEvent
from store.outcomes import (
    OutcomeGroup,
    outcomes_over_time,
    recent_conflicts,
    record_outcomes,
)
from store.retention import apply_retention
from store.tenancy import tenant_transaction
from tests.factories import anthropic_record, outcome_counts, tenant_with_key

# OpenAI's prompt_tokens includes the cached ones: 200 cached of 100 cannot be.
CACHED_BEYOND_INPUT = {
    "request_id": "bad-1",
    "provider": "openai",
    "model": "gpt-4o",
    "occurred_at": "2026-11-20T10:00:00Z",
    "usage": {"prompt_tokens": 100, "prompt_tokens_details": {"cached_tokens": 200}},
}
CACHED_REASON = "usage.prompt_tokens:cache_exceeds_input"
DAY = datetime(2026, 11, 20, tzinfo=UTC)


def _at(hours: float) -> datetime:
    return DAY + timedelta(hours=hours)


def _rows(found: list[Any]) -> list[tuple[Any, ...]]:
    return [(r.bucket, r.source, r.outcome, r.reason, int(r.count)) for r in found]


def test_counts_add_up_per_hour_and_per_day(engine: Engine) -> None:
    tenant, _ = tenant_with_key(engine, "acme")
    other, _ = tenant_with_key(engine, "globex")
    batches = [
        # 10:15 and 10:45 fall in the 10:00 hour; 11:05 in the next; 09:00 the next day.
        (
            tenant,
            "push",
            _at(10.25),
            [
                OutcomeGroup("rejected", "a:invalid", 2),
                OutcomeGroup("duplicate", "retry", 3),
                OutcomeGroup("conflict", "usage", 1, "req-1", "output_tokens 9 (stored: 10)"),
            ],
        ),
        (
            tenant,
            "push",
            _at(10.75),
            [
                OutcomeGroup("rejected", "a:invalid", 1),
                OutcomeGroup("conflict", "usage", 1, "req-2", "output_tokens 7 (stored: 5)"),
            ],
        ),
        (tenant, "push", _at(11 + 5 / 60), [OutcomeGroup("duplicate", "retry", 4)]),
        (tenant, "otlp", _at(24 + 9), [OutcomeGroup("rejected", "a:invalid", 5)]),
        # Another tenant's, in the same hour: never in acme's counts.
        (other, "push", _at(10.5), [OutcomeGroup("duplicate", "retry", 100)]),
    ]
    for who, source, seen, groups in batches:
        with tenant_transaction(engine, who.id) as conn:
            record_outcomes(conn, who.id, source, groups, seen)

    two_days = (DAY, DAY + timedelta(days=2))
    with engine.connect() as conn:
        hourly = _rows(outcomes_over_time(conn, tenant.id, *two_days, "hour"))
        daily = _rows(outcomes_over_time(conn, tenant.id, *two_days, "day"))
        eleven = _rows(outcomes_over_time(conn, tenant.id, _at(11), _at(12), "hour"))
        otlp = _rows(outcomes_over_time(conn, tenant.id, *two_days, "day", source="otlp"))
        conflicts = recent_conflicts(conn, tenant.id, *two_days)
        none = recent_conflicts(conn, other.id, *two_days)
    assert hourly == [
        (_at(10), "push", "conflict", "usage", 1 + 1),
        (_at(10), "push", "duplicate", "retry", 3),
        (_at(10), "push", "rejected", "a:invalid", 2 + 1),
        (_at(11), "push", "duplicate", "retry", 4),
        (_at(24 + 9), "otlp", "rejected", "a:invalid", 5),
    ]
    assert daily == [
        (DAY, "push", "conflict", "usage", 2),
        (DAY, "push", "duplicate", "retry", 3 + 4),
        (DAY, "push", "rejected", "a:invalid", 3),
        (DAY + timedelta(days=1), "otlp", "rejected", "a:invalid", 5),
    ]
    # A range counts the hours that start in it.
    assert eleven == [(_at(11), "push", "duplicate", "retry", 4)]
    assert otlp == [(DAY + timedelta(days=1), "otlp", "rejected", "a:invalid", 5)]
    # One row per hour and class: its count, and the latest conflict as the example.
    [(hour, source, reason, count, last_seen, request_id, sample)] = [tuple(r) for r in conflicts]
    assert (hour, source, reason, count, last_seen) == (_at(10), "push", "usage", 2, _at(10.75))
    assert (request_id, sample) == ("req-2", "output_tokens 7 (stored: 5)")
    assert none == []


def test_the_classes_of_an_hour_are_bounded(engine: Engine) -> None:
    tenant, _ = tenant_with_key(engine)
    for hour in (10, 11):
        for i in range(5):
            with tenant_transaction(engine, tenant.id) as conn:
                groups = [OutcomeGroup("rejected", f"usage.tool_{i}:invalid", 2)]
                record_outcomes(conn, tenant.id, "push", groups, _at(hour), cap=3)
    with engine.connect() as conn:
        rows = _rows(outcomes_over_time(conn, tenant.id, _at(10), _at(12)))
    # Three classes kept an hour; the other two (2 records each) counted as "other"; the
    # next hour starts again.
    expected = [
        ("other", 2 + 2),
        ("usage.tool_0:invalid", 2),
        ("usage.tool_1:invalid", 2),
        ("usage.tool_2:invalid", 2),
    ]
    assert rows == [
        (_at(hour), "push", "rejected", reason, n) for hour in (10, 11) for reason, n in expected
    ]


def test_retention_forgets_hours_before_the_horizon(engine: Engine) -> None:
    tenant, _ = tenant_with_key(engine)
    now = datetime(2026, 11, 20, tzinfo=UTC)
    with tenant_transaction(engine, tenant.id) as conn:
        for seen in (now - timedelta(days=120), now):
            record_outcomes(conn, tenant.id, "push", [OutcomeGroup("duplicate", "retry", 1)], seen)
    # months=1 keeps October and November 2026: the July hour goes.
    assert apply_retention(engine, now, months=1, raw_days=None, dry_run=True).outcome_rows_deleted
    assert apply_retention(engine, now, months=1, raw_days=None).outcome_rows_deleted == 1
    with engine.connect() as conn:
        assert conn.execute(select(IngestOutcomeHourly.hour)).scalars().all() == [now]


def _ingestor(engine: Engine) -> Ingestor:
    return Ingestor(engine, IngestMetrics(CollectorRegistry()))


def test_a_retried_batch_counts_its_records_as_duplicates_once(engine: Engine) -> None:
    tenant, _ = tenant_with_key(engine)
    ingestor = _ingestor(engine)
    batch = [anthropic_record(request_id="a"), anthropic_record(request_id="b")]
    ingestor.ingest(tenant, batch, source="push", received_at=_at(10))
    assert outcome_counts(engine) == {}  # everything new: nothing to count
    again = ingestor.ingest(tenant, batch, source="push", received_at=_at(10.5))
    assert again.duplicates == 2
    assert outcome_counts(engine) == {("push", "duplicate", "retry"): 2}
    # A batch of rejected records only (nothing to store) is counted too.
    ingestor.ingest(tenant, [CACHED_BEYOND_INPUT], source="push", received_at=_at(10.5))
    assert outcome_counts(engine)[("push", "rejected", CACHED_REASON)] == 1


def test_counts_commit_with_the_batch_or_not_at_all(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant, _ = tenant_with_key(engine)
    ingestor = _ingestor(engine)
    ingestor.ingest(tenant, [anthropic_record(request_id="a")], source="push", received_at=_at(10))

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the connection dropped")

    batch = [anthropic_record(request_id="a"), anthropic_record(request_id="b")]
    monkeypatch.setattr("ingest.service.record_outcomes", broken)
    with pytest.raises(RuntimeError):
        ingestor.ingest(tenant, batch, source="push", received_at=_at(10))
    # The batch failed as a whole: b was not stored, nothing was counted.
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(UsageEvent)).scalar_one() == 1
    assert outcome_counts(engine) == {}
    # Its retry stores b and counts a's duplicate once.
    monkeypatch.setattr("ingest.service.record_outcomes", record_outcomes)
    result = ingestor.ingest(tenant, batch, source="push", received_at=_at(10))
    assert (result.accepted, result.duplicates) == (1, 1)
    assert outcome_counts(engine) == {("push", "duplicate", "retry"): 1}


def test_otlp_spans_sent_twice_are_duplicates_of_source_otlp(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    now = datetime.now(UTC)

    def span(span_id: str, input_tokens: int) -> dict[str, Any]:
        return {
            "spanId": span_id,
            "startTimeUnixNano": str(int(now.timestamp() * 1e9)),
            "attributes": [
                {"key": "gen_ai.system", "value": {"stringValue": "openai"}},
                {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-5.1"}},
                {"key": "gen_ai.usage.input_tokens", "value": {"intValue": str(input_tokens)}},
            ],
        }

    export = {
        "resourceSpans": [{"scopeSpans": [{"spans": [span("0a" * 8, 400), span("0b" * 8, -5)]}]}]
    }
    headers = {**auth, "Content-Type": "application/json"}
    for _ in range(2):
        answer = client.post("/v1/traces", json=export, headers=headers)
        assert answer.json()["partialSuccess"]["rejectedSpans"] == "1"
    # Each export: one span rejected; the good span stored once, then a duplicate.
    assert outcome_counts(engine) == {
        ("otlp", "rejected", "usage.gen_ai.usage.input_tokens:negative"): 2,
        ("otlp", "duplicate", "retry"): 1,
    }


def _outcomes(base: str, key: str, query: str = "") -> Any:
    answer = httpx.get(
        f"{base}/v1/ingest/outcomes{query}", headers={"Authorization": f"Bearer {key}"}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _by_class(body: Any) -> dict[tuple[str, str, str], int]:
    """The series summed over time (the test may straddle an hour)."""
    out: dict[tuple[str, str, str], int] = {}
    for point in body["series"]:
        key = (point["source"], point["outcome"], point["reason"])
        out[key] = out.get(key, 0) + point["count"]
    return out


def test_pushed_duplicates_and_conflicts_are_counted_for_their_tenant_only(
    engine: Engine, live_url: str
) -> None:
    _, acme = tenant_with_key(engine, "acme")
    _, globex = tenant_with_key(engine, "globex")
    _, ingest_only = tenant_with_key(engine, "acme", scopes=["ingest"])
    now = datetime.now(UTC).isoformat()
    auth = {"Authorization": f"Bearer {acme}"}

    def post(body: Any, headers: dict[str, str] = auth) -> httpx.Response:
        return httpx.post(f"{live_url}/v1/usage", json=body, headers=headers)

    a = anthropic_record(request_id="a", plain=100, output=10, occurred_at=now)
    b = anthropic_record(request_id="b", plain=200, output=20, occurred_at=now)
    batch = {"records": [a, b, CACHED_BEYOND_INPUT]}
    first = post(batch).json()
    assert (first["accepted"], len(first["rejected"])) == (2, 1)
    # The same batch again (a sender's retry): two duplicates, and the bad record again.
    retried = post(batch).json()
    assert (retried["accepted"], retried["duplicates"], len(retried["rejected"])) == (0, 2, 1)
    # Request ids reused with other numbers: a with other output, b with another model.
    changed = {
        "records": [
            {**a, "usage": {**a["usage"], "output_tokens": 99}},
            {**b, "model": "claude-opus-4-5"},
            anthropic_record(request_id="c", occurred_at=now),
        ]
    }
    third = post(changed).json()
    assert (third["accepted"], len(third["conflicts"])) == (1, 2)
    # One record in conflict is answered 409; it is counted all the same.
    assert post({**a, "usage": {**a["usage"], "output_tokens": 50}}).status_code == 409

    body = _outcomes(live_url, acme)
    # Rejected: 1 + 1; duplicates: the 2 of the retried batch; conflicts: 2 + 1.
    assert body["totals"] == {"rejected": 2, "duplicates": 2, "conflicts": 3}
    assert _by_class(body) == {
        ("push", "rejected", CACHED_REASON): 2,
        ("push", "duplicate", "retry"): 2,
        ("push", "conflict", "usage"): 2,
        ("push", "conflict", "model"): 1,
    }
    assert body["bucket"] == "hour" and body["source"] is None
    latest = body["recent_conflicts"][0]
    assert (latest["source"], latest["reason"], latest["request_id"]) == ("push", "usage", "a")
    assert latest["differences"] == "output_tokens 50 (stored: 10)"
    model = [c for c in body["recent_conflicts"] if c["reason"] == "model"]
    assert [(c["request_id"], c["differences"]) for c in model] == [
        ("b", "model 'claude-opus-4-5' (stored: 'claude-sonnet-4-5')")
    ]
    assert sum(c["count"] for c in body["recent_conflicts"]) == 3
    daily = _outcomes(live_url, acme, "?bucket=day")
    assert daily["totals"] == body["totals"] and _by_class(daily) == _by_class(body)
    assert _outcomes(live_url, acme, "?source=otlp")["totals"] == {
        "rejected": 0,
        "duplicates": 0,
        "conflicts": 0,
    }

    # Another tenant sees none of acme's; its own retry counts for it alone.
    empty = _outcomes(live_url, globex)
    assert empty["totals"] == {"rejected": 0, "duplicates": 0, "conflicts": 0}
    assert (empty["series"], empty["recent_conflicts"]) == ([], [])
    theirs = {"Authorization": f"Bearer {globex}"}
    for _ in range(2):
        post(anthropic_record(request_id="a", occurred_at=now), theirs)
    assert _outcomes(live_url, globex)["totals"] == {"rejected": 0, "duplicates": 1, "conflicts": 0}
    assert _outcomes(live_url, acme)["totals"] == body["totals"]
    # The route needs the read scope, and takes only hour or day.
    refused = httpx.get(
        f"{live_url}/v1/ingest/outcomes", headers={"Authorization": f"Bearer {ingest_only}"}
    )
    assert refused.status_code == 403
    assert httpx.get(f"{live_url}/v1/ingest/outcomes?bucket=week", headers=auth).status_code == 422
