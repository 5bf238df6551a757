"""Ingest health: which records were refused, by source and reason class, with a sample each;
and the records refused, found duplicate or in conflict over time, with the latest conflicts.
The API and the dashboard read these bodies."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from store.outcomes import outcomes_over_time, recent_conflicts
from store.rejections import list_rejections, unpriced_models

# The body's total of each outcome (reports.schemas.OutcomeTotals).
TOTALS = {"rejected": "rejected", "duplicate": "duplicates", "conflict": "conflicts"}


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def ingest_rejections(
    conn: Connection, tenant_id: int, start: datetime, end: datetime, source: str | None = None
) -> dict[str, Any]:
    """The tenant's reason classes seen in [start, end) (counts since each was first seen),
    and their sums per source (reports.schemas.IngestRejections)."""
    rows = list_rejections(conn, tenant_id, start, end, source)
    by_source: dict[str, dict[str, Any]] = {}
    for row in rows:
        line = by_source.setdefault(
            row.source,
            {"source": row.source, "rejected": 0, "reasons": 0, "last_seen": row.last_seen},
        )
        line["rejected"] += row.count
        line["reasons"] += 1
        line["last_seen"] = max(line["last_seen"], row.last_seen)
    return {
        "start": _time(start),
        "end": _time(end),
        "source": source,
        "by_source": [
            {**line, "last_seen": _time(line["last_seen"])}
            for line in sorted(by_source.values(), key=lambda s: (-s["rejected"], s["source"]))
        ],
        "rejections": [
            {
                "source": row.source,
                "reason": row.reason,
                "count": row.count,
                "first_seen": _time(row.first_seen),
                "last_seen": _time(row.last_seen),
                "sample_field": row.sample_field,
                "sample_error": row.sample_error,
            }
            for row in rows
        ],
        "unpriced": [
            {
                "provider": row.provider,
                "model": row.model,
                "reason": row.reason,
                "requests": row.requests,
                "last_seen": _time(row.last_seen),
                "fix": price_fix(row.provider, row.model, start, end),
            }
            for row in unpriced_models(conn, tenant_id, start, end)
        ],
    }


def ingest_outcomes(
    conn: Connection,
    tenant_id: int,
    start: datetime,
    end: datetime,
    bucket: str = "hour",
    source: str | None = None,
    zone: str = "UTC",
) -> dict[str, Any]:
    """The tenant's records rejected, found duplicate or in conflict per `bucket` ("hour" or
    "day" of `zone`) of the hours that start in [start, end), by source and reason class;
    their totals; and the latest conflicts (reports.schemas.IngestOutcomes)."""
    rows = outcomes_over_time(conn, tenant_id, start, end, bucket, source, zone)
    totals = dict.fromkeys(TOTALS.values(), 0)
    for row in rows:
        totals[TOTALS[row.outcome]] += int(row.count)
    return {
        "start": _time(start),
        "end": _time(end),
        "source": source,
        "bucket": bucket,
        "totals": totals,
        "series": [
            {
                "time": _time(row.bucket),
                "source": row.source,
                "outcome": row.outcome,
                "reason": row.reason,
                "count": int(row.count),
            }
            for row in rows
        ],
        "recent_conflicts": [
            {
                "hour": _time(row.hour),
                "source": row.source,
                "reason": row.reason,
                "count": row.count,
                "last_seen": _time(row.last_seen),
                "request_id": row.sample_request_id,
                "differences": row.sample,
            }
            for row in recent_conflicts(conn, tenant_id, start, end, source)
        ],
    }


def price_fix(provider: str, model: str, start: datetime, end: datetime) -> str:
    """The CLI commands that price a model's requests of [start, end): its published rates
    per million tokens go in the angle brackets."""
    return (
        f"cachemeter prices add --provider {shlex.quote(provider)} --model {shlex.quote(model)}"
        " --input <input per MTok> --output <output per MTok>"
        " --cache-read <cache read per MTok> --cache-write <cache write per MTok>"
        f" && cachemeter reprice --start {_time(start)} --end {_time(end)}"
        f" --provider {shlex.quote(provider)} --model {shlex.quote(model)}"
        " --reason 'price added'"
    )
