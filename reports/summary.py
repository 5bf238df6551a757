"""The summary report: requests, tokens, cost (explicit-cache storage included, as on the
statement), no-cache cost, savings and hit rates per group over [start, end)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from billing.charge import money_text
from reports.schemas import SummaryGroup
from reports.totals import Totals, grouped, totals_of
from store.queries import storage_rows, summary_rows

# The group of the summary's total (as on the statement).
TOTAL = "TOTAL"
# The CSV's columns: every field of a group's JSON. `by_currency` is the only nested one: a
# group in several currencies (top-level money blank) has one more row per currency for it.
CSV_FIELDS = tuple(name for name in SummaryGroup.model_fields if name != "by_currency")


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
    """The summary as the API answers it: the groups, and their total summed from the same
    rows (so its hit rates are of the whole range, not an average of the groups')."""
    usage = summary_rows(conn, tenant_id, start, end, group_by)
    storage = storage_rows(conn, tenant_id, start, end, group_by)
    total = totals_of(usage, storage)
    total.key = TOTAL
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "group_by": group_by,
        "groups": [group_json(g) for g in grouped(usage, storage)],
        "total": group_json(total),
    }


def csv_rows(group: dict[str, Any]) -> list[dict[str, Any]]:
    """A group's JSON as CSV rows: the group, then (when its money is in several currencies)
    one row of money per currency, its counts blank so no column adds them twice."""
    rows = [group]
    if group["currency"] is None:
        rows += [{"group": group["group"], **money} for money in group["by_currency"]]
    return rows


def summary_csv(body: dict[str, Any]) -> str:
    """The summary as CSV: every field of the JSON, the groups' rows, then the TOTAL rows."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for group in [*body["groups"], body["total"]]:
        writer.writerows(csv_rows(group))
    return out.getvalue()
