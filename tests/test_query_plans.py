"""EXPLAIN of the hot read queries: events are read only from the partitions of the range,
and rollups through an index that leads with the tenant column."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Connection, Engine, event

from cachemeter.cli.demo import load_demo
from dashboard.filters import filters_from
from dashboard.pages import hitrate, latency, overview, spend
from ingest.metrics import IngestMetrics
from ingest.service import Ingestor
from store.partitions import ensure_partitions, partition_name
from store.queries import summary_rows
from store.reconcile import reported_groups
from store.tenancy import scope_to_tenant
from store.tenants import ensure_tenant

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
ROLLUPS = ("usage_hourly", "ttft_daily", "prefix_daily")


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def ensure_tenant_id(engine: Engine) -> int:
    """The id of the demo tenant (created if needed)."""
    with engine.begin() as conn:
        return ensure_tenant(conn, "acme").id


@pytest.fixture
def plans(engine: Engine) -> Callable[[Callable[[Connection], Any]], list[dict[str, Any]]]:
    """Runs a query function and returns the EXPLAIN plan of every SELECT it executed."""
    # Events in three months, so pruning has partitions to leave out.
    ensure_partitions(engine, {date(2026, 10, 1), date(2026, 12, 1)})
    load_demo(
        Ingestor(engine, IngestMetrics(CollectorRegistry())),
        engine,
        tenant_name="acme",
        days=3,
        now=NOW,
    )

    def explain(body: Callable[[Connection], Any]) -> list[dict[str, Any]]:
        captured: list[tuple[str, Any]] = []

        def capture(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
            if statement.lstrip().upper().startswith(("SELECT", "WITH")):
                captured.append((statement, params))

        event.listen(engine, "before_cursor_execute", capture)
        try:
            with engine.connect() as conn:
                body(conn)
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        out = []
        with engine.connect() as conn:
            # As requests run them: under row-level security, whose barrier keeps leaky
            # expressions out of index conditions.
            scope_to_tenant(conn, ensure_tenant_id(engine))
            raw = conn.connection.driver_connection
            assert raw is not None
            with raw.cursor() as cursor:
                # Tiny test tables would be read whole whatever the indexes; this asks
                # whether an index can serve the query at all.
                cursor.execute("SET enable_seqscan = off")
                for statement, params in captured:
                    cursor.execute("EXPLAIN (FORMAT JSON) " + statement, params)
                    row = cursor.fetchone()
                    assert row is not None
                    value = row[0]
                    plan = (json.loads(value) if isinstance(value, str) else value)[0]["Plan"]
                    out.append({"sql": statement, "plan": plan})
        return out

    return explain


def _relations(plan: dict[str, Any]) -> list[tuple[str, str]]:
    return [(n["Node Type"], n["Relation Name"]) for n in _nodes(plan) if "Relation Name" in n]


def test_event_reads_touch_only_the_partitions_of_the_range(
    engine: Engine, plans: Callable[[Callable[[Connection], Any]], list[dict[str, Any]]]
) -> None:
    tenant = ensure_tenant_id(engine)
    start, end = NOW - timedelta(days=2, minutes=13), NOW - timedelta(minutes=7)
    explained = plans(
        lambda c: (
            summary_rows(c, tenant, start, end, "model"),
            reported_groups(c, tenant, start, end),
        )
    )
    assert explained
    touched = {rel for p in explained for _, rel in _relations(p["plan"])}
    assert partition_name(date(2026, 11, 1)) in touched
    assert partition_name(date(2026, 10, 1)) not in touched
    assert partition_name(date(2026, 12, 1)) not in touched
    for p in explained:
        for node, rel in _relations(p["plan"]):
            assert node != "Seq Scan", (rel, p["sql"])


def test_dashboard_queries_read_rollups_by_index(
    engine: Engine, plans: Callable[[Callable[[Connection], Any]], list[dict[str, Any]]]
) -> None:
    tenant = ensure_tenant_id(engine)
    f = filters_from({"range": "7d"}, NOW)
    explained = plans(
        lambda c: (
            overview.cards(c, tenant, f),
            overview.daily(c, tenant, f),
            hitrate.by_group(c, tenant, f, "model", "token"),
            hitrate.heat_figure(c, tenant, f, None),
            hitrate.prefix_table(c, tenant, f),
            latency.distribution(c, tenant, f),
            spend.figures(c, tenant, f),
        )
    )
    relations = [(node, rel, p["sql"]) for p in explained for node, rel in _relations(p["plan"])]
    assert {rel for _, rel, _ in relations} >= set(ROLLUPS)
    for node, rel, sql in relations:
        assert not rel.startswith("usage_events"), f"dashboard query reads raw events: {sql}"
        if rel in ROLLUPS:
            assert node != "Seq Scan", (rel, sql)


def test_what_if_neighbours_are_probed_on_the_prefix_index(
    engine: Engine, plans: Callable[[Callable[[Connection], Any]], list[dict[str, Any]]]
) -> None:
    """Ingest looks up each prefix's stored neighbours with three probes of the prefix
    index per prefix, never a scan of the tenant's events (whatever the batch's span)."""
    from store.write.whatif import stored_neighbours

    tenant = ensure_tenant_id(engine)
    rows = [
        {
            "app": app,
            "prompt_cache_key": f"system-{n}",
            "provider": "anthropic",
            "model": "claude-sonnet-4-5",
            "occurred_at": NOW - timedelta(days=2, hours=n),
        }
        for n in range(5)
        for app in ("support-bot", None)
    ]
    explained = plans(lambda c: stored_neighbours(c, tenant, rows))
    [probe] = [p for p in explained if "usage_events" in p["sql"]]
    scans = [
        n for n in _nodes(probe["plan"]) if n.get("Relation Name", "").startswith("usage_events")
    ]
    assert len(scans) >= 3
    for scan in scans:
        assert scan["Node Type"] in ("Index Scan", "Index Scan Backward", "Index Only Scan"), scan
        # Every key of the prefix is an index condition, none a filter applied row by row
        # (under row-level security a leaky expression would be).
        for key in ("app", "prefix", "provider", "model"):
            assert re.search(rf"= k(_\d+)?\.{key}\)", scan["Index Cond"]), (key, scan)
        assert "Filter" not in scan, scan["Filter"]
