"""Money at risk: a hit-rate regression carries the extra spend a day it causes, in the API,
the webhook text, the metric and the dashboard's markers.

Hand computation (Claude Sonnet 4.5 at genai-prices' published rates: input $3, cache read
$0.30, 5-minute cache write $3.75 per MTok). One request a minute, 100 uncached input tokens
and a 4,000-token cached system prompt:

- before the change 9 in 10 requests read the prompt (saving 4,000 x (3 - 0.30) / 1e6 =
  $0.0108 each) and 1 in 10 writes it again (costing 4,000 x (3.75 - 3) / 1e6 = $0.003 more
  than no cache): $0.0942 saved per 10 requests of 41,000 input tokens;
- after it every request writes the prompt anew: -$0.003 each.

Each request now loses its expected $0.00942 of savings plus $0.003 of write premium:
$0.01242 a request, x 1,440 requests a day = $17.8848 a day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from billing.economics import CacheSavings, regression_cost_per_day
from cache.regressions import DetectorConfig
from cachemeter.server import open_gauges
from cachemeter.workers.regressions import check_regressions
from cachemeter.workers.webhook import message
from dashboard.pages.hitrate import by_group
from ingest.metrics import IngestMetrics
from ingest.service import Ingestor
from reports.regressions import open_costs
from store.analytics import Filters
from store.regressions import all_open
from store.tenants import ensure_tenant

T0 = datetime(2026, 11, 10, tzinfo=UTC)
CHANGE = timedelta(hours=30)
COST = Decimal("17.8848")


def _record(minute: int) -> dict[str, Any]:
    hit = minute < CHANGE.total_seconds() // 60 and minute % 10 != 0
    return {
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "app": "code-review",
        "request_id": f"r-{minute}",
        # On the minute, so a window of N minutes holds N requests.
        "occurred_at": (T0 + timedelta(minutes=minute)).isoformat(),
        "prompt_cache_key": "reviewer-system",
        # After the change a timestamp heads the system prompt: a new prefix every request.
        "prefix_hash": "v1" if minute < CHANGE.total_seconds() // 60 else f"v2-{minute}",
        "usage": {
            "input_tokens": 100,
            "output_tokens": 50,
            "cache_read_input_tokens": 4000 if hit else 0,
            "cache_creation_input_tokens": 0 if hit else 4000,
        },
    }


@pytest.fixture
def opened(engine: Engine) -> list[Any]:
    """The stream up to 10 minutes after the change, checked then: the recent window is the
    10 requests since the change, the baseline the 24 hours before it."""
    with engine.begin() as conn:
        tenant = ensure_tenant(conn, "acme")
    records = [_record(m) for m in range(int((CHANGE.total_seconds() // 60) + 10))]
    ingestor = Ingestor(engine, IngestMetrics(CollectorRegistry()))
    for i in range(0, len(records), 1000):
        result = ingestor.ingest(
            tenant, records[i : i + 1000], source="push", received_at=T0 + timedelta(days=3)
        )
        assert not result.rejected
    events = check_regressions(engine, T0 + CHANGE + timedelta(minutes=10), DetectorConfig())
    return [r for action, r in events if action == "opened" and r["kind"] == "hit_rate"]


def test_the_cost_a_day_by_hand() -> None:
    baseline = CacheSavings(input_tokens=41_000, savings=Decimal("0.0942"))
    recent = CacheSavings(input_tokens=41_000, savings=Decimal("-0.03"))
    assert regression_cost_per_day(baseline, recent, 10) == COST
    # Twice the traffic in the same window costs twice as much a day.
    double = CacheSavings(input_tokens=82_000, savings=Decimal("-0.06"))
    assert regression_cost_per_day(baseline, double, 10) == 2 * COST
    # A drop that still saves more than before costs nothing; no priced input, no figure.
    assert regression_cost_per_day(baseline, baseline, 10) == 0
    assert regression_cost_per_day(CacheSavings(0, Decimal(0)), recent, 10) is None


def test_a_regression_carries_its_cost_in_the_api(
    opened: list[Any], client: TestClient, auth: dict[str, str]
) -> None:
    assert {r["scope"] for r in opened} == {"app_model", "cache_key"}
    for regression in opened:
        assert regression["details"]["window_minutes"] == 10
        assert Decimal(regression["details"]["cost_per_day"]) == COST
        assert regression["details"]["currency"] == "USD"
    body = client.get("/v1/regressions?start=2026-11-10&end=2026-11-13", headers=auth).json()
    listed = {r["scope"]: r for r in body["regressions"]}
    assert Decimal(listed["app_model"]["cost_per_day"]) == COST
    assert listed["app_model"]["currency"] == "USD"


def test_the_webhook_says_what_it_costs(opened: list[Any]) -> None:
    [app_wide] = [r for r in opened if r["scope"] == "app_model"]
    text = message("opened", app_wide)["text"]
    assert "code-review / claude-sonnet-4-5" in text
    assert text.endswith("; costs about 17.88 USD a day")


def test_the_metric_counts_each_lost_read_once(opened: list[Any], engine: Engine) -> None:
    registry = CollectorRegistry()
    metrics = IngestMetrics(registry)
    with engine.connect() as conn:
        open_gauges(all_open(conn), metrics)
    labels = {
        "kind": "hit_rate",
        "app": "code-review",
        "model": "claude-sonnet-4-5",
        "currency": "USD",
    }
    # The app-wide and the cache-key regression are the same lost reads: counted once.
    assert registry.get_sample_value("cachemeter_regression_cost_per_day", labels) == float(COST)


def test_open_costs_sum_tenants_and_take_the_larger_scope() -> None:
    def row(tenant: int, scope: str, cost: str | None, currency: str = "USD") -> Any:
        details = {"cost_per_day": cost, "currency": currency} if cost else {}
        return {
            "tenant_id": tenant,
            "kind": "hit_rate",
            "scope": scope,
            "app": "a",
            "model": "m",
            "details": details,
        }

    rows = [
        row(1, "app_model", "10"),
        row(1, "cache_key", "4"),
        row(1, "cache_key", "7.5"),  # two keys of tenant 1: 11.5 over the app's 10
        row(2, "app_model", "3"),
        row(2, "cache_key", None),  # unpriced: no figure, not zero
        row(3, "app_model", "2", currency="EUR"),
    ]
    assert open_costs(rows) == {
        ("hit_rate", "a", "m", "USD"): Decimal("14.5"),
        ("hit_rate", "a", "m", "EUR"): Decimal("2"),
    }


def test_the_dashboard_marks_the_regression_with_its_cost(
    opened: list[Any], engine: Engine
) -> None:
    with engine.connect() as conn:
        tenant = ensure_tenant(conn, "acme")
        f = Filters(start=T0, end=T0 + timedelta(days=2))
        figure = by_group(conn, tenant.id, f, "app", "token")
    texts = [a.text for a in figure.layout.annotations]
    assert texts == ["▼ code-review: prefix changed, 17.88 USD/day"]
    # Where it opened, on the clock of the view's zone (UTC), as Plotly draws times.
    assert [s.x0 for s in figure.layout.shapes] == [
        (T0 + CHANGE + timedelta(minutes=10)).replace(tzinfo=None)
    ]
