"""The HTTP API end to end against a real Postgres: auth, ingest, idempotency, reports."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from store.models import UsageEvent
from tests.factories import anthropic_record, tenant_with_key
from tests.usage_fixtures import load_fixture


def _events(engine: Engine) -> list[Any]:
    with Session(engine) as session:
        return list(session.scalars(select(UsageEvent).order_by(UsageEvent.id)))


def test_unauthenticated_is_401(client: TestClient) -> None:
    assert client.post("/v1/usage", json=anthropic_record()).status_code == 401
    bad = client.post(
        "/v1/usage", json=anthropic_record(), headers={"Authorization": "Bearer nope"}
    )
    assert bad.status_code == 401
    assert client.get("/v1/reports/summary").status_code == 401


def test_single_record_is_normalised_priced_and_stored(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    fixture = load_fixture("anthropic-messages")
    response = client.post(
        "/v1/usage",
        json={
            "provider": "anthropic",
            "response": fixture["payload"],
            "app": "chat",
            "team": "core",
            "occurred_at": "2026-11-20T10:00:00Z",
            "ttft_ms": 420.5,
            "end_user": "alice@example.com",
        },
        headers=auth,
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1
    [event] = _events(engine)
    assert (event.input_tokens, event.cache_read_tokens, event.cache_write_tokens) == (
        189_360,
        188_086,
        1_253,
    )
    assert event.uncached_input_tokens == 21
    assert event.request_id == "msg_01ABC"  # the provider's response id is the idempotency key
    # Claude Opus 4.8: $5 in, $0.50 read, $6.25 5m write, $25 out per MTok (see test_billing).
    assert event.cost == Decimal("0.11180425")
    assert event.nocache_cost == Decimal("0.956625")
    assert event.price_source == "genai-prices"
    # A keyed HMAC under the server's secret: a plain hash of a guessed address is not it.
    expected = hmac.new(b"test-secret", b"acme\x00alice@example.com", hashlib.sha256).hexdigest()
    assert event.end_user == expected
    assert event.end_user != hashlib.sha256(b"acme\x00alice@example.com").hexdigest()
    # Content never stored: the raw payload keeps usage and ids only.
    assert "content" not in event.raw and event.raw["usage"]["input_tokens"] == 21
    assert event.occurred_at.isoformat() == "2026-11-20T10:00:00+00:00"


def test_same_batch_twice_is_stored_once(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    batch = {"records": [anthropic_record(request_id=f"r{i}") for i in range(5)]}
    first = client.post("/v1/usage", json=batch, headers=auth).json()
    second = client.post("/v1/usage", json=batch, headers=auth).json()
    assert (first["accepted"], first["duplicates"]) == (5, 0)
    assert (second["accepted"], second["duplicates"]) == (0, 5)
    assert len(_events(engine)) == 5


def test_retry_with_other_month_is_still_a_duplicate(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    client.post(
        "/v1/usage", json=anthropic_record(occurred_at="2026-10-31T23:59:59Z"), headers=auth
    )
    retry = client.post(
        "/v1/usage", json=anthropic_record(occurred_at="2026-11-01T00:00:01Z"), headers=auth
    )
    assert retry.json()["duplicates"] == 1
    assert len(_events(engine)) == 1


def test_duplicates_inside_one_batch_count_once(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    batch = {"records": [anthropic_record(request_id="same"), anthropic_record(request_id="same")]}
    body = client.post("/v1/usage", json=batch, headers=auth).json()
    assert (body["accepted"], body["duplicates"]) == (1, 1)


def test_malformed_record_is_named_and_the_others_stored(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    bad = anthropic_record(request_id="bad", plain=-5)
    batch = {
        "records": [
            anthropic_record(request_id="ok1"),
            bad,
            anthropic_record(request_id="ok2"),
            {"usage": {"prompt_tokens": 10}, "colour": "blue"},
        ]
    }
    body = client.post("/v1/usage", json=batch, headers=auth).json()
    assert body["accepted"] == 2
    assert [r["index"] for r in body["rejected"]] == [1, 3]
    assert "usage.input_tokens" in body["rejected"][0]["error"]
    assert "negative" in body["rejected"][0]["error"]
    assert "colour" in body["rejected"][1]["error"]
    assert sorted(e.request_id for e in _events(engine)) == ["ok1", "ok2"]


def test_single_bad_record_is_422_and_stores_nothing(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    response = client.post("/v1/usage", json=anthropic_record(read=200, plain=-1), headers=auth)
    assert response.status_code == 422
    assert "negative" in response.json()["rejected"][0]["error"]
    both = client.post(
        "/v1/usage", json={"usage": {"prompt_tokens": 1}, "response": {}}, headers=auth
    )
    assert both.status_code == 422 and "exactly one" in both.json()["rejected"][0]["error"]
    assert _events(engine) == []


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        ("not json", 400, "not valid JSON"),
        # Neither can be stored as JSONB: refused at the door, not by the database later.
        ('{"usage": {"prompt_tokens": NaN}}', 400, "not valid JSON"),
        ('{"usage": {"prompt_tokens": 1}, "tags": {"x": "\\ud800"}}', 400, "not valid JSON"),
        ([1, 2], 422, "record object"),
        ({"records": []}, 422, "empty batch"),
        ({"records": [anthropic_record()] * 1001}, 413, "limit is 1000"),
    ],
)
def test_bad_bodies(
    client: TestClient, auth: dict[str, str], body: Any, status: int, text: str
) -> None:
    if isinstance(body, str):
        response = client.post(
            "/v1/usage", content=body, headers={**auth, "Content-Type": "application/json"}
        )
    else:
        response = client.post("/v1/usage", json=body, headers=auth)
    assert response.status_code == status
    assert text in response.text


def test_unpriced_model_is_stored_with_a_reason(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    record = {
        "provider": "stepfun",
        "response": load_fixture("stepfun")["payload"],
        "occurred_at": "2026-11-20T10:00:00Z",
    }
    body = client.post("/v1/usage", json=record, headers=auth).json()
    assert (body["accepted"], body["unpriced"]) == (1, 1)
    [event] = _events(engine)
    assert event.cost is None and "step-1o-turbo-vision" in event.unpriced_reason
    assert event.uncached_input_tokens == 79


def test_summary_report(client: TestClient, auth: dict[str, str]) -> None:
    # Claude Sonnet 4.5 list: $3 in, $0.30 read, $3.75 5m write, $15 out per MTok.
    records = [
        anthropic_record(request_id="a", plain=1000, read=0, write=4000, output=100, app="search"),
        anthropic_record(request_id="b", plain=1000, read=4000, write=0, output=100, app="search"),
        anthropic_record(request_id="c", plain=2000, read=0, write=0, output=0, app="chat"),
    ]
    client.post("/v1/usage", json={"records": records}, headers=auth)
    response = client.get(
        "/v1/reports/summary?start=2026-11-01&end=2026-12-01&group_by=app", headers=auth
    )
    assert response.status_code == 200
    groups = {g["group"]: g for g in response.json()["groups"]}
    search = groups["search"]
    assert search["requests"] == 2
    assert search["input_tokens"] == 10_000
    assert search["cache_read_tokens"] == 4_000
    assert search["token_hit_rate"] == pytest.approx(0.4)
    assert search["request_hit_rate"] == pytest.approx(0.5)
    # a: 1000x3 + 4000x3.75 + 100x15 = 3000 + 15000 + 1500 = 19500 -> $0.0195
    # b: 1000x3 + 4000x0.30 + 100x15 = 3000 + 1200 + 1500 = 5700 -> $0.0057
    assert Decimal(search["cost"]) == Decimal("0.0252")
    # no cache: 10000x3 + 200x15 = 33000 -> $0.033
    assert Decimal(search["nocache_cost"]) == Decimal("0.033")
    assert Decimal(search["savings"]) == Decimal("0.0078")
    assert search["currency"] == "USD"
    assert groups["chat"]["token_hit_rate"] == 0
    csv_text = client.get(
        "/v1/reports/summary?start=2026-11-01&end=2026-12-01&group_by=app&format=csv", headers=auth
    ).text
    assert csv_text.splitlines()[0].startswith("group,requests,input_tokens")
    assert len(csv_text.strip().splitlines()) == 4  # header, two groups, TOTAL


def test_summary_csv_has_every_json_field_and_a_total_row(
    client: TestClient, auth: dict[str, str]
) -> None:
    # Claude Sonnet 4.5 list: $3 in, $0.30 read, $3.75 5m write, $6 1h write, $15 out per MTok.
    one_hour = anthropic_record(request_id="h", plain=1000, output=100, app="search")
    one_hour["usage"] |= {
        "cache_creation_input_tokens": 3000,
        "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
    }
    records = [
        one_hour,
        anthropic_record(request_id="r", plain=1000, read=4000, output=100, app="search"),
        anthropic_record(request_id="c", plain=2000, output=0, app="chat"),
    ]
    client.post("/v1/usage", json={"records": records}, headers=auth)
    url = "/v1/reports/summary?start=2026-11-01&end=2026-12-01&group_by=app"
    body = client.get(url, headers=auth).json()
    rows = list(csv.DictReader(io.StringIO(client.get(f"{url}&format=csv", headers=auth).text)))
    # Every field of the JSON is a column; by_currency's fields are among them.
    [group, *_] = body["groups"]
    assert set(rows[0]) == set(group) - {"by_currency"}
    assert set(group["by_currency"][0]) <= set(rows[0])
    # One row per group as in the JSON, then the total.
    assert [r["group"] for r in rows] == [g["group"] for g in body["groups"]] + ["TOTAL"]
    for row, expected in zip(rows, [*body["groups"], body["total"]], strict=True):
        assert row == {k: "" if v is None else str(v) for k, v in expected.items() if k in row}
    total = rows[-1]
    # h: 1000x3 + 1000x3.75 + 2000x6 + 100x15 = 3000 + 3750 + 12000 + 1500 = 20250 -> $0.02025
    # r: 1000x3 + 4000x0.30 + 100x15 = 3000 + 1200 + 1500 = 5700 -> $0.0057
    # c: 2000x3 = 6000 -> $0.006; cost 0.02025 + 0.0057 + 0.006 = 0.03195
    # no cache: input (4000 + 5000 + 2000) x3 + 200x15 = 33000 + 3000 = 36000 -> $0.036
    assert {k: total[k] for k in ("requests", "input_tokens", "cache_read_tokens")} == {
        "requests": "3",
        "input_tokens": "11000",
        "cache_read_tokens": "4000",
    }
    assert (total["cache_write_tokens"], total["cache_write_1h_tokens"]) == ("3000", "2000")
    assert (total["output_tokens"], total["unpriced_requests"]) == ("200", "0")
    assert total["currency"] == "USD"
    assert Decimal(total["cost"]) == Decimal("0.03195")
    assert Decimal(total["nocache_cost"]) == Decimal("0.036")
    assert Decimal(total["savings"]) == Decimal("0.00405")  # 0.036 - 0.03195
    # Rates of the whole range: 4000 of 11000 input tokens, 1 of 3 requests read the cache.
    assert float(total["token_hit_rate"]) == pytest.approx(4000 / 11000)
    assert float(total["request_hit_rate"]) == pytest.approx(1 / 3)
    for name in ("requests", "input_tokens", "cache_write_1h_tokens", "output_tokens"):
        assert int(total[name]) == sum(int(r[name]) for r in rows[:-1])
    assert Decimal(total["cost"]) == sum(Decimal(r["cost"]) for r in rows[:-1])


def test_summary_csv_gives_a_group_in_several_currencies_a_row_per_currency() -> None:
    from reports.summary import CSV_FIELDS, summary_csv

    counts: dict[str, Any] = dict.fromkeys(CSV_FIELDS, 0)
    counts |= {"token_hit_rate": None, "request_hit_rate": None}
    usd = {"currency": "USD", "cost": "1.50", "nocache_cost": "2", "savings": "0.50"}
    eur = {"currency": "EUR", "cost": "3", "nocache_cost": "3", "savings": "0"}
    mixed = counts | {"group": "chat", "currency": None, "cost": None, "nocache_cost": None}
    mixed |= {"savings": None, "by_currency": [eur, usd]}
    total = mixed | {"group": "TOTAL"}
    rows = list(csv.DictReader(io.StringIO(summary_csv({"groups": [mixed], "total": total}))))
    assert [(r["group"], r["currency"], r["cost"], r["requests"]) for r in rows] == [
        ("chat", "", "", "0"),
        ("chat", "EUR", "3", ""),
        ("chat", "USD", "1.50", ""),
        ("TOTAL", "", "", "0"),
        ("TOTAL", "EUR", "3", ""),
        ("TOTAL", "USD", "1.50", ""),
    ]


def test_summary_is_tenant_scoped(client: TestClient, engine: Engine, auth: dict[str, str]) -> None:
    client.post("/v1/usage", json=anthropic_record(), headers=auth)
    _, other_key = tenant_with_key(engine, "globex")
    other = client.get(
        "/v1/reports/summary?start=2026-11-01&end=2026-12-01",
        headers={"Authorization": f"Bearer {other_key}"},
    )
    assert other.json()["groups"] == []


def test_summary_rejects_bad_dates(client: TestClient, auth: dict[str, str]) -> None:
    assert client.get("/v1/reports/summary?start=yesterday", headers=auth).status_code == 422
    assert client.get("/v1/reports/summary?group_by=colour", headers=auth).status_code == 422


def test_health_ready_openapi(client: TestClient, auth: dict[str, str]) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/v1/usage" in spec["paths"] and "RecordIn" in spec["components"]["schemas"]


def test_stored_catalogue_and_negotiated_prices_win(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    from billing.catalogue import PriceSpec
    from store.prices import add_price

    with engine.begin() as conn:
        # Venice's list: $6.00 input, $0.60 read, $7.50 write per MTok (output rate assumed).
        catalogue_id = add_price(
            conn,
            PriceSpec(
                provider="venice",
                model="claude-opus-4-5",
                input_mtok=Decimal("6.00"),
                output_mtok=Decimal("30"),
                cache_read_mtok=Decimal("0.60"),
                cache_write_mtok=Decimal("7.50"),
            ),
        )
        # acme negotiated Claude Sonnet 4.5 at $2 in / $10 out (reads and writes at input rate).
        add_price(
            conn,
            PriceSpec(
                provider="anthropic",
                model="claude-sonnet-4-5",
                tenant="acme",
                input_mtok=Decimal("2"),
                output_mtok=Decimal("10"),
            ),
        )
    venice = {
        "provider": "venice",
        "request_id": "v1",
        "occurred_at": "2026-11-20T10:00:00Z",
        "usage": {
            "prompt_tokens": 5500,
            "completion_tokens": 0,
            "prompt_tokens_details": {"cached_tokens": 5000},
        },
        "model": "claude-opus-4-5",
    }
    sonnet = anthropic_record(request_id="s1", plain=1000, read=1000, output=100)
    assert (
        client.post("/v1/usage", json={"records": [venice, sonnet]}, headers=auth).json()[
            "accepted"
        ]
        == 2
    )
    by_id = {e.request_id: e for e in _events(engine)}
    assert (by_id["v1"].cost, by_id["v1"].nocache_cost) == (Decimal("0.006"), Decimal("0.033"))
    assert (by_id["v1"].price_source, by_id["v1"].price_id) == ("catalogue", catalogue_id)
    # 1000 x 2 + 1000 x 2 (read at input rate) + 100 x 10 = 5000 -> $0.005
    assert by_id["s1"].cost == Decimal("0.005")
    assert by_id["s1"].price_source == "tenant"


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (anthropic_record(request_id="n1", plain=2**70), "usage.input_tokens"),
        (anthropic_record(request_id="n2", app="bad\x00app"), "app"),
        (anthropic_record(request_id="n3", occurred_at="1999-12-31T23:00:00Z"), "occurred_at"),
        (anthropic_record(request_id="n4", occurred_at="2999-01-01T00:00:00Z"), "occurred_at"),
        ({**anthropic_record(request_id="n5"), "provider": "p" * 65}, "provider"),
        (
            {"request_id": "n6", "response": {"model": "m" * 300, "usage": {"prompt_tokens": 5}}},
            "response.model",
        ),
        (
            {
                "request_id": "n7",
                "response": {"usage": {"prompt_tokens": 5, "cost": 1e300}},
                "provider": "openrouter",
            },
            "response.usage.cost",
        ),
        ({"request_id": "n8", "usage": {"prompt_tokens": 5}, "tags": {"k": 1}}, "tags.k"),
    ],
)
def test_values_the_database_cannot_hold_are_rejected_not_500(
    client: TestClient, engine: Engine, auth: dict[str, str], record: dict[str, Any], field: str
) -> None:
    batch = {"records": [record, anthropic_record(request_id="good")]}
    response = client.post("/v1/usage", json=batch, headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 1
    assert body["rejected"][0]["index"] == 0
    assert body["rejected"][0]["error"].startswith(field), body["rejected"][0]["error"]
    assert [e.request_id for e in _events(engine)] == ["good"]


def test_nul_inside_a_payload_string_is_dropped_from_the_stored_copy(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    record = {
        "request_id": "z",
        "occurred_at": "2026-11-20T10:00:00Z",
        "response": {
            "object": "chat\x00completion",
            "model": "gpt-5.1",
            "usage": {"prompt_tokens": 5, "completion_tokens": 1, "x\x00": 1},
        },
    }
    assert client.post("/v1/usage", json=record, headers=auth).json()["accepted"] == 1
    [event] = _events(engine)
    assert event.raw == {
        "object": None,
        "model": "gpt-5.1",
        "usage": {"prompt_tokens": 5, "completion_tokens": 1},
    }


def test_concurrent_duplicate_batches_store_each_request_once(engine: Engine) -> None:
    import threading
    from datetime import UTC, datetime

    from ingest.metrics import IngestMetrics
    from ingest.service import Ingestor

    tenant, _ = tenant_with_key(engine)
    ingestor = Ingestor(engine, IngestMetrics(CollectorRegistry()))
    batch = [anthropic_record(request_id=f"c{i}") for i in range(200)]
    results = []

    def send() -> None:
        results.append(ingestor.ingest(tenant, batch, source="push", received_at=datetime.now(UTC)))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.accepted for r in results) == 200
    assert sum(r.duplicates for r in results) == 600
    assert len(_events(engine)) == 200


def test_api_answers_are_never_cached(client: TestClient, auth: dict[str, str]) -> None:
    answers = [
        client.post("/v1/usage", json=anthropic_record(), headers=auth),
        client.get("/v1/reports/summary", headers=auth),
        client.get("/v1/reports/summary"),  # a 401 too
        client.get("/metrics"),
    ]
    for answer in answers:
        assert answer.headers["cache-control"] == "no-store", answer.request.url
