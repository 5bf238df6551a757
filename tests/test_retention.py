"""Data lifecycle: partitions made ahead; counts and raw payloads dropped at their horizons."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, func, select

from ingest.metrics import IngestMetrics
from ingest.service import Ingestor
from store.models import UsageEvent, UsageHourly, UsageKey
from store.partitions import event_partitions
from store.retention import apply_retention, counts_horizon
from store.tenants import ensure_tenant

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def _record(request_id: str, at: datetime) -> dict[str, Any]:
    return {
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "request_id": request_id,
        "occurred_at": at.isoformat(),
        "usage": {"input_tokens": 10, "cache_read_input_tokens": 2000, "output_tokens": 5},
    }


def _count(engine: Engine, column: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count(column))).scalar_one())


def test_counts_horizon() -> None:
    assert counts_horizon(NOW, 0) == datetime(2026, 11, 1, tzinfo=UTC)
    assert counts_horizon(NOW, 2) == datetime(2026, 9, 1, tzinfo=UTC)
    assert counts_horizon(NOW, 11) == datetime(2025, 12, 1, tzinfo=UTC)
    assert counts_horizon(NOW, 12) == datetime(2025, 11, 1, tzinfo=UTC)


def test_retention_drops_old_months_and_empties_old_payloads(engine: Engine) -> None:
    with engine.begin() as conn:
        tenant = ensure_tenant(conn, "acme")
    ingestor = Ingestor(engine, IngestMetrics(CollectorRegistry()))
    times = {
        "july": datetime(2026, 7, 15, tzinfo=UTC),
        "august": datetime(2026, 8, 31, 23, 59, tzinfo=UTC),
        "september": datetime(2026, 9, 1, tzinfo=UTC),
        "november": NOW - timedelta(days=20),
        "recent": NOW - timedelta(days=1),
    }
    result = ingestor.ingest(
        tenant, [_record(k, t) for k, t in times.items()], source="push", received_at=NOW
    )
    assert result.accepted == 5

    dry = apply_retention(engine, NOW, months=2, raw_days=7, dry_run=True)
    assert dry.dropped_partitions == ["usage_events_p2026_07", "usage_events_p2026_08"]
    assert dry.keys_deleted == 2 and dry.raw_payloads_cleared == 2  # september, november
    assert _count(engine, UsageEvent.id) == 5  # a dry run changes nothing

    report = apply_retention(engine, NOW, months=2, raw_days=7, ahead=2)
    assert report.created_ahead == ["usage_events_p2026_12", "usage_events_p2027_01"]
    assert report.dropped_partitions == dry.dropped_partitions
    assert report.rollup_rows_deleted == 2 and report.raw_payloads_cleared == 2
    parts = event_partitions(engine)
    assert "usage_events_p2026_07" not in parts and "usage_events_p2026_08" not in parts
    assert {"usage_events_p2026_09", "usage_events_p2026_12", "usage_events_p2027_01"} <= set(parts)
    with engine.connect() as conn:
        kept: dict[str, Any] = {
            r.request_id: r.raw for r in conn.execute(select(UsageEvent.request_id, UsageEvent.raw))
        }
        keys = set(conn.execute(select(UsageKey.request_id)).scalars())
        rolled = conn.execute(select(func.sum(UsageHourly.requests))).scalar_one()
    assert set(kept) == keys == {"september", "november", "recent"}
    assert kept["september"] == {} and kept["november"] == {}
    assert json.dumps(kept["recent"]) != "{}"  # inside the raw horizon: kept
    assert rolled == 3  # rollups hold exactly what the events hold

    # With the horizon configured, a late record for a dropped month is refused, not stored.
    guarded = Ingestor(engine, IngestMetrics(CollectorRegistry()), retention_months=2)
    late = guarded.ingest(tenant, [_record("late", times["july"])], source="push", received_at=NOW)
    assert late.accepted == 0
    assert "before the retention horizon 2026-09-01" in late.rejected[0].error
    assert "usage_events_p2026_07" not in event_partitions(engine)
    # A second pass has nothing left to do.
    again = apply_retention(engine, NOW, months=2, raw_days=7)
    assert (again.dropped_partitions, again.raw_payloads_cleared, again.created_ahead) == (
        [],
        0,
        [],
    )


def test_retention_command(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    from cachemeter.cli.main import main

    assert main(["retention", "--dry-run", "--months", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dry_run"] is True and out["months"] == 3 and out["raw_days"] is None
    assert out["dropped_partitions"] == []
    with pytest.raises(SystemExit) as exit_info:
        main(["retention", "--months", "-1"])
    assert exit_info.value.code == 2
    assert "--months: -1 is negative" in capsys.readouterr().err
