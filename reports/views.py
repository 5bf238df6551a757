"""The dashboard's figures, read through the same Totals as every report: a view's totals, its
time series and its top groups, each with the explicit-cache storage of the caches created in
it (part of cost, off savings, as on the statement)."""

from __future__ import annotations

from sqlalchemy import Connection

from reports.totals import Totals, grouped, totals_of
from store import analytics
from store.analytics import Filters


def view_totals(conn: Connection, tenant_id: int, f: Filters) -> Totals:
    """The sums of the view."""
    return totals_of(
        analytics.totals(conn, tenant_id, f), analytics.storage(conn, tenant_id, f, None)
    )


def by_bucket(conn: Connection, tenant_id: int, f: Filters, bucket: str = "day") -> list[Totals]:
    """The view's sums per time bucket (Totals.key: the bucket's start), oldest first."""
    return grouped(
        analytics.series(conn, tenant_id, f, bucket),
        analytics.storage(conn, tenant_id, f, bucket),
        key="bucket",
    )


def top_groups(
    conn: Connection, tenant_id: int, f: Filters, group_by: str, limit: int = 10
) -> list[Totals]:
    """The `limit` groups of `group_by` with the largest no-cache cost (Totals.key: the group),
    in that order."""
    rows = analytics.top_groups(conn, tenant_id, f, group_by, limit)
    storage = analytics.storage(conn, tenant_id, f, group_by)
    order = list(dict.fromkeys(row.group for row in rows))
    groups = {t.key: t for t in grouped(rows, [s for s in storage if s.group in order], "group")}
    return [groups[key] for key in order]
