"""The Grafana dashboard and alert rules refer only to metrics the exporter exposes, and the
rules pass promtool's checks and unit tests."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from cachemeter.server import open_gauges, publish
from tests.factories import anthropic_record

ROOT = Path(__file__).resolve().parents[1]
FILES = ROOT / "helm" / "cachemeter" / "files"
METRIC = re.compile(r"\bcachemeter_[a-z0-9_]+")


def _exposed(client: TestClient, auth: dict[str, str]) -> set[str]:
    """Every sample name /metrics shows once each kind of record has been seen."""
    records = [
        anthropic_record(request_id="hit", read=2048, ttft_ms=200),
        anthropic_record(request_id="miss", write=2048, ttft_ms=800),
        {
            "request_id": "x",
            "provider": "stepfun",
            "model": "nope",
            "occurred_at": "2026-11-20T10:00:00Z",
            "usage": {"prompt_tokens": 5, "completion_tokens": 1},
        },
        {"request_id": "bad", "usage": {"prompt_tokens": -1}},
    ]
    client.post("/v1/usage", json={"records": records}, headers=auth)
    app: Any = client.app
    publish([("opened", {"kind": "hit_rate", "app": "a", "model": "m"})], app.state.metrics, None)
    # What the monitor sets after each pass from the open regressions.
    details = {"cost_per_day": "12.5", "currency": "USD"}
    row = {"tenant_id": 1, "kind": "hit_rate", "scope": "app_model", "app": "a", "model": "m"}
    open_gauges([{**row, "details": details}], app.state.metrics)
    return {
        sample.name
        for family in text_string_to_metric_families(client.get("/metrics").text)
        for sample in family.samples
    }


def _exprs(dashboard: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    exprs += [v["definition"] for v in dashboard["templating"]["list"] if v.get("definition")]
    return exprs


def test_grafana_dashboard_uses_only_exposed_metrics(
    client: TestClient, auth: dict[str, str]
) -> None:
    dashboard = json.loads((FILES / "grafana-dashboard.json").read_text())
    exposed = _exposed(client, auth)
    used = {name for expr in _exprs(dashboard) for name in METRIC.findall(expr)}
    assert used and used <= exposed, used - exposed
    titles = " ".join(p["title"] for p in dashboard["panels"])
    for wanted in (
        "Token hit rate",
        "Request hit rate",
        "Savings",
        "Spend",
        "TTFT",
        "Unpriced",
        "Ingest",
    ):
        assert wanted in titles
    assert {v["name"] for v in dashboard["templating"]["list"]} >= {
        "provider",
        "model",
        "app",
        "team",
    }


# Money metrics carry a `currency` label; their names say cost.
MONEY_METRIC = re.compile(r"\bcachemeter_[a-z0-9_]*cost[a-z0-9_]*")
GROUPED_BY = re.compile(r"\bby \(([^)]*)\)")


def _units(panel: dict[str, Any]) -> list[str]:
    config = panel["fieldConfig"]
    units = [config["defaults"]["unit"]]
    units += [
        p["value"]
        for o in config.get("overrides", [])
        for p in o["properties"]
        if p["id"] == "unit"
    ]
    return units


def test_grafana_panels_have_unique_ids_and_money_shows_in_its_currency() -> None:
    dashboard = json.loads((FILES / "grafana-dashboard.json").read_text())
    panels = dashboard["panels"]
    ids = [p.get("id") for p in panels]
    assert all(type(i) is int for i in ids), ids
    assert len(set(ids)) == len(ids), ids
    money = [p for p in panels if any(MONEY_METRIC.search(t["expr"]) for t in p["targets"])]
    assert {p["title"] for p in money} >= {
        "Spend per hour",
        "Savings per hour (no-cache cost - cost)",
    }
    for panel in panels:
        if panel not in money:
            assert not any(u.startswith("currency") for u in _units(panel)), panel["title"]
            continue
        # Money of different currencies is never added: each series is one currency, named in
        # its legend, which the per-currency unit overrides match.
        for target in panel["targets"]:
            groups = GROUPED_BY.findall(target["expr"])
            assert groups and all("currency" in g for g in groups), (panel["title"], target)
            assert target["legendFormat"].endswith("{{currency}}"), panel["title"]
        assert all(u.startswith("currency") for u in _units(panel)), panel["title"]
        assert panel["fieldConfig"]["defaults"]["unit"] == "currencyUSD"  # the catalogue's
    # The money at risk of open regressions sits beside them, by app, model and currency.
    [at_risk] = [
        p for p in money if "cachemeter_regression_cost_per_day" in p["targets"][0]["expr"]
    ]
    [opened] = [p for p in panels if "cachemeter_regression_open" in p["targets"][0]["expr"]]
    assert at_risk["gridPos"]["y"] == opened["gridPos"]["y"]
    assert GROUPED_BY.findall(at_risk["targets"][0]["expr"]) == ["app, model, currency"]


def test_alert_rules_use_only_exposed_metrics(client: TestClient, auth: dict[str, str]) -> None:
    rules = (FILES / "prometheus-rules.yml").read_text()
    used = set(METRIC.findall(rules))
    assert used and used <= _exposed(client, auth), used - _exposed(client, auth)
    for alert in (
        "CachemeterHitRateDropped",
        "CachemeterUnpricedEvents",
        "CachemeterIngestRejectionsSpiking",
        "CachemeterIngestRejections",
        "CachemeterCachedTTFTRegression",
        "CachemeterRegressionCostly",
    ):
        assert f"alert: {alert}" in rules


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run promtool: install Debian's prometheus package")
        pytest.skip("promtool not installed (make test installs it as root)")
    return found


def test_promtool_checks_and_unit_tests_the_rules() -> None:
    promtool = _promtool()
    check = subprocess.run(
        [promtool, "check", "rules", str(FILES / "prometheus-rules.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    unit = subprocess.run(
        [promtool, "test", "rules", "alerts_test.yml"],
        cwd=ROOT / "tests" / "promtool",
        capture_output=True,
        text=True,
        check=False,
    )
    assert unit.returncode == 0, unit.stdout + unit.stderr
    assert "SUCCESS" in unit.stdout + unit.stderr
