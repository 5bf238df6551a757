"""One read model: the summary, the dashboard's figures and the finance statement give the same
cost, no-cache cost and savings per group and in total, explicit-cache storage included (the
caches created in the range, as the statement counts them)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from reports.views import top_groups, view_totals
from store.analytics import Filters
from store.models import Tenant
from tests.factories import anthropic_record

START, END = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)


def _cache(name: str, team: str, created: str, expires: str, tokens: int) -> dict[str, Any]:
    return {
        "team": team,
        "app": f"{team}-app",
        "cache": {
            "name": f"cachedContents/{name}",
            "model": "models/gemini-2.5-pro",
            "createTime": created,
            "expireTime": expires,
            "usageMetadata": {"totalTokenCount": tokens},
        },
    }


@pytest.fixture
def november(client: TestClient, auth: dict[str, str]) -> None:
    records = [
        anthropic_record(request_id="r", plain=1000, read=4000, output=100, team="search"),
        anthropic_record(request_id="w", plain=1000, write=4000, output=0, team="search"),
        anthropic_record(request_id="d", plain=2000, output=0, team="docs"),
    ]
    for record in records:
        record["app"] = f"{record['team']}-app"
    assert client.post("/v1/usage", json={"records": records}, headers=auth).json()["accepted"] == 3
    caches = [
        _cache("s", "search", "2026-11-05T10:00:00Z", "2026-11-05T13:00:00Z", 100_000),
        _cache("d", "docs", "2026-11-06T10:00:00Z", "2026-11-06T11:00:00Z", 200_000),
        # A team with storage and no requests, and a cache of October: not November's.
        _cache("a", "archive", "2026-11-07T00:00:00Z", "2026-11-07T02:00:00Z", 10_000),
        _cache("o", "search", "2026-10-31T20:00:00Z", "2026-10-31T22:00:00Z", 100_000),
    ]
    stored = client.post("/v1/caches", json={"caches": caches}, headers=auth).json()
    assert (stored["stored"], stored["unpriced"]) == (4, 0)


# Claude Sonnet 4.5 per MTok: $3 input, $0.30 cache read, $3.75 5-minute write, $15 output.
# Gemini 2.5 Pro explicit-cache storage: $4.50 per MTok-hour.
EXPECTED = {
    # r: 1000x3 + 4000x0.30 + 100x15 = 5700; w: 1000x3 + 4000x3.75 = 18000 -> $0.0237 of
    # requests; storage 100,000 tokens x 3 h x 4.50 = $1.35. No cache: 10,000x3 + 100x15.
    "search": {"cost": "1.3737", "nocache_cost": "0.0315", "savings": "-1.3422"},
    # d: 2000x3 = $0.006; storage 200,000 x 1 h x 4.50 = $0.90.
    "docs": {"cost": "0.906", "nocache_cost": "0.006", "savings": "-0.9"},
    # storage only: 10,000 x 2 h x 4.50 = $0.09.
    "archive": {"cost": "0.09", "nocache_cost": "0", "savings": "-0.09"},
}
TOTAL = {"cost": "2.3697", "nocache_cost": "0.0375", "savings": "-2.3322"}


def _money(body: dict[str, Any]) -> dict[str, Decimal]:
    return {k: Decimal(body[k]) for k in ("cost", "nocache_cost", "savings")}


def _hand(figures: dict[str, str]) -> dict[str, Decimal]:
    return {k: Decimal(v) for k, v in figures.items()}


def test_summary_equals_the_statement_per_group_and_in_total(
    client: TestClient, auth: dict[str, str], november: None
) -> None:
    statement = client.get("/v1/reports/statement?month=2026-11&group_by=team", headers=auth).json()
    summary = client.get(
        "/v1/reports/summary?start=2026-11-01&end=2026-12-01&group_by=team", headers=auth
    ).json()
    lines = {line["group"]: _money(line) for line in statement["lines"]}
    groups = {g["group"]: _money(g) for g in summary["groups"]}
    assert lines == groups == {team: _hand(figures) for team, figures in EXPECTED.items()}
    total = {k: sum((g[k] for g in groups.values()), Decimal(0)) for k in TOTAL}
    assert _money(statement["total"]) == total == _money(summary["total"]) == _hand(TOTAL)
    assert summary["total"]["requests"] == statement["total"]["requests"]
    # The storage-only group counts no request; its caches are all its cost.
    archive = next(g for g in summary["groups"] if g["group"] == "archive")
    assert (archive["requests"], archive["currency"]) == (0, "USD")


@pytest.mark.parametrize("group_by", ["app", "model", "provider", "environment"])
def test_summary_equals_the_statement_for_every_grouping(
    client: TestClient, auth: dict[str, str], november: None, group_by: str
) -> None:
    statement = client.get(
        f"/v1/reports/statement?month=2026-11&group_by={group_by}", headers=auth
    ).json()
    summary = client.get(
        f"/v1/reports/summary?start=2026-11-01&end=2026-12-01&group_by={group_by}",
        headers=auth,
    ).json()
    assert {line["group"]: _money(line) for line in statement["lines"]} == {
        g["group"]: _money(g) for g in summary["groups"]
    }
    assert _money(statement["total"]) == _hand(TOTAL)


def test_dashboard_figures_count_storage_as_the_statement_does(
    engine: Engine, november: None
) -> None:
    with engine.connect() as conn:
        tenant_id = conn.execute(select(Tenant.id).where(Tenant.name == "acme")).scalar_one()
        view = view_totals(conn, tenant_id, Filters(START, END))
        top = {t.key: t for t in top_groups(conn, tenant_id, Filters(START, END), "team")}
    assert {k: view.amount(k) for k in TOTAL} == _hand(TOTAL)  # the overview's cards
    assert view.amount("storage") == Decimal("2.34")  # 1.35 + 0.90 + 0.09
    # The spend page's table of top teams (the teams with requests).
    for team in ("search", "docs"):
        assert {k: top[team].amount(k) for k in TOTAL} == _hand(EXPECTED[team])
