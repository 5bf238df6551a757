"""The FOCUS export at scale: a month of the dashboard bench's synthetic events (all of them in
one calendar month, for a tenant of its own) exported to a discarded file, timed, with the
process's memory before and after (a streamed export holds a row at a time, so its peak does
not grow with the month)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psutil
from sqlalchemy import Engine, text

from reports.focus import focus_csv
from reports.focus_export import focus_export
from store.tenancy import tenant_transaction


def seed_month(engine: Engine, events: int, progress: Callable[[str], None]) -> int:
    """A tenant of its own with `events` synthetic events, all in the last full month of at
    least 30 days (they span the 30 days before a month's first instant)."""
    first = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    # The day before a month's first is the previous month's last: its number of days.
    while (first - timedelta(days=1)).day < 30:
        first = (first - timedelta(days=1)).replace(day=1)
    from dashboard_bench import seed

    return seed(engine, events, first, progress, tenant_name="focus-bench")


def focus_export_timing(engine: Engine, tenant_id: int) -> dict[str, Any]:
    """Seconds, rows and events of the FOCUS export of the month holding most of the tenant's
    events, and the RSS it added."""
    with engine.connect() as conn:
        month, events = conn.execute(
            text(
                "SELECT to_char(date_trunc('month', occurred_at, 'UTC'), 'YYYY-MM') AS m,"
                " count(*) FROM usage_events WHERE tenant_id = :t GROUP BY m"
                " ORDER BY count(*) DESC LIMIT 1"
            ),
            {"t": tenant_id},
        ).one()
    process = psutil.Process()
    rss_before = process.memory_info().rss
    peak = rss_before
    began = time.perf_counter()
    rows = 0
    with tenant_transaction(engine, tenant_id) as conn, open(os.devnull, "w") as out:
        summary, lines = focus_export(conn, tenant_id, "bench", month, None)
        for chunk in focus_csv(lines):
            out.write(chunk)
            rows += 1
            if rows % 10_000 == 0:
                peak = max(peak, process.memory_info().rss)
    seconds = time.perf_counter() - began
    return {
        "focus_export_month": month,
        "focus_export_events": int(events),
        "focus_export_rows": summary.rows,
        "focus_export_seconds": round(seconds, 1),
        "focus_export_events_per_s": round(int(events) / seconds),
        "focus_export_rss_growth_mib": round((peak - rss_before) / 2**20, 1),
    }
