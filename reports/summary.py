"""The summary report: requests, tokens, cost (explicit-cache storage included, as on the
statement), no-cache cost, savings and hit rates per group over [start, end)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from billing.charge import money_text
from reports.totals import Totals, grouped
from store.queries import storage_rows, summary_rows

# The CSV's columns (one currency per row; a group in several currencies leaves money blank).
CSV_FIELDS = (
    "group",
    "requests",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
    "currency",
    "cost",
    "nocache_cost",
    "savings",
    "token_hit_rate",
    "request_hit_rate",
    "unpriced_requests",
)


def summary(
    conn: Connection, tenant_id: int, start: datetime, end: datetime, group_by: str
) -> list[Totals]:
    """Totals per group over [start, end), ordered by group key."""
    return grouped(
        summary_rows(conn, tenant_id, start, end, group_by),
        storage_rows(conn, tenant_id, start, end, group_by),
    )


def group_json(group: Totals) -> dict[str, Any]:
    """One group of the summary; money as decimal strings, never mixed across currencies."""
    single = next(iter(group.money)) if len(group.money) == 1 else None

    def money(name: str, currency: str | None) -> str | None:
        amount = group.amount(name, currency) if currency else None
        return money_text(amount) if amount is not None else None

    return {
        "group": group.key,
        "requests": group.counts["requests"],
        "input_tokens": group.counts["input_tokens"],
        "cache_read_tokens": group.counts["cache_read_tokens"],
        "cache_write_tokens": group.counts["cache_write_tokens"],
        "cache_write_1h_tokens": group.counts["cache_write_1h_tokens"],
        "output_tokens": group.counts["output_tokens"],
        "currency": single,
        "cost": money("cost", single),
        "nocache_cost": money("nocache_cost", single),
        "savings": money("savings", single),
        "by_currency": [
            {
                "currency": currency,
                "cost": money("cost", currency),
                "nocache_cost": money("nocache_cost", currency),
                "savings": money("savings", currency),
            }
            for currency in sorted(group.money)
        ],
        "token_hit_rate": group.token_hit_rate,
        "request_hit_rate": group.request_hit_rate,
        "unpriced_requests": group.counts["unpriced_requests"],
    }


def summary_body(
    conn: Connection, tenant_id: int, start: datetime, end: datetime, group_by: str
) -> dict[str, Any]:
    """The summary as the API answers it."""
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "group_by": group_by,
        "groups": [group_json(g) for g in summary(conn, tenant_id, start, end, group_by)],
    }


def summary_csv(body: dict[str, Any]) -> str:
    """The summary's groups as CSV."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(body["groups"])
    return out.getvalue()
