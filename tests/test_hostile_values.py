"""Values a record may carry that the database could not take as sent: each is stored as the
database would hold it, or refused alone, and never fails its batch (found by an adversarial
sweep of the API on 2026-12-04)."""

from __future__ import annotations

import gzip
import json
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text

from billing.charge import to_money
from store.models import ReportedHourly, UsageEvent
from store.rollups import rebuild
from tests.factories import anthropic_record

AT = "2026-11-20T10:00:00Z"


def _post(client: TestClient, auth: dict[str, str], records: list[dict[str, Any]]) -> Any:
    response = client.post("/v1/usage", json={"records": records}, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_ttft_below_a_nanosecond_is_stored_as_zero(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    # The TTFT fit squares it: (1e-200)^2 underflowed a double in the rollup, failing the batch.
    records = [
        anthropic_record(request_id="fine", ttft_ms=300.0000004),
        anthropic_record(request_id="tiny", ttft_ms=1e-200),
    ]
    assert _post(client, auth, records)["accepted"] == 2
    with engine.connect() as conn:
        stored = dict(conn.execute(select(UsageEvent.request_id, UsageEvent.ttft_ms)).all())
    assert stored == {"fine": 300.0, "tiny": 0.0}  # kept to the nanosecond


def test_a_reported_cost_finer_than_the_stored_scale_is_rounded_as_the_database_rounds(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    records = [
        # Its exponent is past what numeric can hold: the database refused it outright.
        anthropic_record(request_id="tiny", reported_cost="1e-1100000000"),
        # Twelve places, half away from zero as numeric rounds: ...0125 -> ...013.
        anthropic_record(request_id="half", reported_cost="0.1234567890125"),
        {
            "provider": "openrouter",
            "model": "anthropic/claude-sonnet-4.5",
            "request_id": "router",
            "occurred_at": AT,
            "usage": {"prompt_tokens": 21, "completion_tokens": 5, "cost": "1E-2000000000"},
        },
    ]
    assert _post(client, auth, records)["accepted"] == 3
    with engine.connect() as conn:
        stored = dict(conn.execute(select(UsageEvent.request_id, UsageEvent.reported_cost)).all())
    assert stored == {"tiny": 0, "half": Decimal("0.123456789013"), "router": 0}


def test_an_hour_s_sums_may_pass_what_one_event_may_hold(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    # A thousand events reporting 999,999,999.99 each (an event's limit is below 10^9) sum to
    # 999,999,999,990; one more reporting 10 makes the hour 10^12, past an event's numeric(24,
    # 12) (which had failed every later batch of the hour), well inside a rollup's (38, 12).
    at = datetime(2026, 11, 20, 10, tzinfo=UTC)
    big = [
        anthropic_record(
            request_id=f"big-{i}",
            reported_cost="999999999.99",
            occurred_at=(at + timedelta(seconds=i)).isoformat(),
        )
        for i in range(1000)
    ]
    assert _post(client, auth, big)["accepted"] == 1000
    last = anthropic_record(request_id="ten", reported_cost="10", occurred_at=AT)
    assert _post(client, auth, [last])["accepted"] == 1
    with engine.connect() as conn:
        live = conn.execute(select(ReportedHourly.reported)).scalar_one()
    assert live == Decimal("1000000000000")
    with engine.begin() as conn:
        rebuild(conn, at, at + timedelta(hours=1))
        assert conn.execute(select(ReportedHourly.reported)).scalar_one() == live
    # And the reports that read such sums answer.
    day = {"start": "2026-11-20T00:00:00Z", "end": "2026-11-21T00:00:00Z"}
    for route, params in (
        ("reconciliation", day),
        ("summary", day),
        ("statement", {"month": "2026-11"}),
    ):
        response = client.get(f"/v1/reports/{route}", params=params, headers=auth)
        assert response.status_code == 200, (route, response.text)


def test_money_sums_past_the_default_decimal_context_are_quantised() -> None:
    # A rollup may hold 10^26: the default 28-digit context cannot give it 12 places.
    assert to_money(Decimal("12345678901234567890.1234567890125")) == Decimal(
        "12345678901234567890.123456789012"
    )


def test_a_rejection_naming_a_field_with_a_nul_is_kept(
    client: TestClient, auth: dict[str, str]
) -> None:
    records = [anthropic_record(request_id="good"), anthropic_record(tags={"zz\x00": "b"})]
    answer = _post(client, auth, records)
    assert answer["accepted"] == 1 and [r["index"] for r in answer["rejected"]] == [1]
    response = client.get("/v1/ingest/rejections?start=2000-01-01&end=2100-01-01", headers=auth)
    (line,) = response.json()["rejections"]
    # Kept with the NUL shown as U+FFFD (a text column holds no NUL): it was lost before.
    assert line["sample_field"] == "tags.zz\ufffd.[key]"
    assert line["sample_error"].startswith("tags.zz\ufffd.[key]: Value error, must not contain NUL")


def test_sums_are_numeric_38_12(engine: Engine) -> None:
    with engine.connect() as conn:
        types = conn.execute(
            text(
                "SELECT DISTINCT numeric_precision, numeric_scale FROM information_schema.columns"
                " WHERE table_name IN ('usage_hourly', 'prefix_hourly', 'prefix_daily',"
                " 'reported_hourly') AND data_type = 'numeric'"
            )
        ).all()
    assert types == [(38, 12)]


def test_a_compressed_push_body_is_read_within_the_body_limit(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    body = json.dumps({"records": [anthropic_record(request_id="zipped")]}).encode()
    for encoding, data in (("gzip", gzip.compress(body)), ("deflate", zlib.compress(body))):
        response = client.post(
            "/v1/usage",
            content=data,
            headers={**auth, "Content-Type": "application/json", "Content-Encoding": encoding},
        )
        assert response.status_code == 200, response.text
    with engine.connect() as conn:
        assert conn.execute(select(UsageEvent.request_id)).scalars().all() == ["zipped"]

    def post(data: bytes, encoding: str) -> Any:
        headers = {**auth, "Content-Type": "application/json", "Content-Encoding": encoding}
        return client.post("/v1/usage", content=data, headers=headers)

    refused = post(body, "br")
    assert refused.status_code == 415 and "Content-Encoding" in refused.text
    lying = post(body, "gzip")  # not gzip at all
    assert lying.status_code == 400 and "not valid gzip data" in lying.text
    # Cut short, or followed by more: refused, not read as far as it goes.
    for cut in (zlib.compress(body)[:-6], zlib.compress(body) + b"tail"):
        broken = post(cut, "deflate")
        assert broken.status_code == 400 and "truncated, or followed by more" in broken.text
    # 20 MiB of spaces in 20 KiB: past the 16 MiB body limit once decompressed, 413 as the
    # same body sent plain would be.
    bomb = post(gzip.compress(b" " * (20 * 2**20) + body), "gzip")
    assert bomb.status_code == 413 and "once decompressed" in bomb.text
    assert post(gzip.compress(body), "x-gzip").status_code == 200  # RFC 9110: gzip
