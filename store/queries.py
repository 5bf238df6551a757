"""Read queries for reports, the dashboard and readiness; every one is tenant-scoped."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, literal_column, or_, select, text, union_all

from store.hours import hour_split
from store.models import UsageEvent, UsageHourly
from store.tenancy import APP_ROLE

GROUPS: tuple[str, ...] = ("provider", "model", "app", "team", "environment", "day")


@dataclass
class MoneyTotals:
    """Sums of priced events in one currency."""

    currency: str
    cost: Decimal = Decimal(0)
    nocache_cost: Decimal = Decimal(0)
    savings: Decimal = Decimal(0)


@dataclass
class GroupSummary:
    """Totals for one group; money is kept per currency and never mixed."""

    key: str | None
    requests: int = 0
    hit_requests: int = 0
    unpriced_requests: int = 0
    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    output_tokens: int = 0
    money: list[MoneyTotals] = field(default_factory=list)

    @property
    def token_hit_rate(self) -> float | None:
        """Cache-read tokens over all input tokens."""
        return self.cache_read_tokens / self.input_tokens if self.input_tokens else None

    @property
    def request_hit_rate(self) -> float | None:
        """Share of requests that read anything from the cache."""
        return self.hit_requests / self.requests if self.requests else None


def _group_expr(table: Any, time_column: Any, group_by: str) -> Any:
    if group_by == "day":
        return func.to_char(func.timezone("UTC", time_column), literal_column("'YYYY-MM-DD'"))
    if group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPS)}")
    return getattr(table, group_by)


def _event_part(group_by: str, ranges: list[tuple[datetime, datetime]], tenant_id: int) -> Any:
    e = UsageEvent
    return (
        select(
            _group_expr(e, e.occurred_at, group_by).label("key"),
            e.currency,
            func.count().label("requests"),
            func.count().filter(e.cache_read_tokens > 0).label("hit_requests"),
            func.count().filter(e.cost.is_(None)).label("unpriced"),
            func.sum(e.input_tokens).label("input_tokens"),
            func.sum(e.cache_read_tokens).label("cache_read_tokens"),
            func.sum(e.cache_write_tokens).label("cache_write_tokens"),
            func.sum(e.cache_write_1h_tokens).label("cache_write_1h_tokens"),
            func.sum(e.output_tokens).label("output_tokens"),
            func.sum(e.cost).label("cost"),
            func.sum(e.nocache_cost).label("nocache_cost"),
            func.sum(e.savings).label("savings"),
        )
        .where(
            e.tenant_id == tenant_id,
            or_(*[and_(e.occurred_at >= lo, e.occurred_at < hi) for lo, hi in ranges]),
        )
        .group_by(literal_column("1"), e.currency)
    )


def _rollup_part(group_by: str, start: datetime, end: datetime, tenant_id: int) -> Any:
    h = UsageHourly
    return (
        select(
            _group_expr(h, h.hour, group_by).label("key"),
            h.currency,
            func.sum(h.requests).label("requests"),
            func.sum(h.hit_requests).label("hit_requests"),
            func.sum(h.unpriced_requests).label("unpriced"),
            func.sum(h.input_tokens).label("input_tokens"),
            func.sum(h.cache_read_tokens).label("cache_read_tokens"),
            func.sum(h.cache_write_tokens).label("cache_write_tokens"),
            func.sum(h.cache_write_1h_tokens).label("cache_write_1h_tokens"),
            func.sum(h.output_tokens).label("output_tokens"),
            # Unpriced events add 0 here; they carry no currency, so their group is skipped.
            func.sum(h.cost).label("cost"),
            func.sum(h.nocache_cost).label("nocache_cost"),
            func.sum(h.savings).label("savings"),
        )
        .where(h.tenant_id == tenant_id, h.hour >= start, h.hour < end)
        .group_by(literal_column("1"), h.currency)
    )


def summary(
    conn: Connection, tenant_id: int, start: datetime, end: datetime, group_by: str
) -> list[GroupSummary]:
    """Totals per group over [start, end), ordered by group key.

    Whole hours come from the hourly rollups; only the partial hours at either end (when a
    bound is not on the hour) are read from the events, so the cost does not grow with the
    number of events in the range.
    """
    hours, edges = hour_split(start, end)
    parts = []
    if hours is not None:
        parts.append(_rollup_part(group_by, *hours, tenant_id))
    if edges:
        parts.append(_event_part(group_by, edges, tenant_id))
    if not parts:
        return []
    both = union_all(*parts).subquery()
    rows = conn.execute(
        select(
            both.c.key,
            both.c.currency,
            *[
                func.sum(column).label(column.key)
                for column in both.c
                if column.key not in ("key", "currency")
            ],
        )
        .group_by(both.c.key, both.c.currency)
        .order_by(both.c.key.asc().nulls_last(), both.c.currency)
    ).all()
    groups: dict[str | None, GroupSummary] = {}
    for row in rows:
        group = groups.setdefault(row.key, GroupSummary(key=row.key))
        # sum() over bigint is numeric in PostgreSQL: counts come back as Decimal.
        group.requests += int(row.requests)
        group.hit_requests += int(row.hit_requests)
        group.unpriced_requests += int(row.unpriced)
        group.input_tokens += int(row.input_tokens)
        group.cache_read_tokens += int(row.cache_read_tokens)
        group.cache_write_tokens += int(row.cache_write_tokens)
        group.cache_write_1h_tokens += int(row.cache_write_1h_tokens)
        group.output_tokens += int(row.output_tokens)
        if row.currency is not None and row.cost is not None:
            group.money.append(MoneyTotals(row.currency, row.cost, row.nocache_cost, row.savings))
    return list(groups.values())


def daily_hit_rate_and_savings(
    conn: Connection, tenant_id: int, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Per UTC day: token hit rate and savings (in the tenant's main currency)."""
    out = []
    for group in summary(conn, tenant_id, start, end, "day"):
        money = max(group.money, key=lambda m: m.nocache_cost, default=None)
        out.append(
            {
                "day": date.fromisoformat(str(group.key)),
                "token_hit_rate": group.token_hit_rate,
                "request_hit_rate": group.request_hit_rate,
                "requests": group.requests,
                "currency": money.currency if money else None,
                "cost": money.cost if money else None,
                "savings": money.savings if money else None,
            }
        )
    return out


def event_bounds(conn: Connection, tenant_id: int) -> tuple[datetime, datetime] | None:
    """Earliest and latest occurred_at of the tenant's events, or None when there are none."""
    row = conn.execute(
        select(func.min(UsageEvent.occurred_at), func.max(UsageEvent.occurred_at)).where(
            UsageEvent.tenant_id == tenant_id
        )
    ).one()
    return (row[0], row[1]) if row[0] is not None else None


def unready_reason(conn: Connection) -> str | None:
    """Why the service cannot serve from this database (None when it can): the schema is
    not migrated, or the login may not become the row-level-security role."""
    migrated, role = conn.execute(
        text(
            "SELECT to_regclass('usage_events') IS NOT NULL,"
            " EXISTS (SELECT FROM pg_roles WHERE rolname = :role"
            " AND pg_has_role(current_user, oid, 'MEMBER'))"
        ),
        {"role": APP_ROLE},
    ).one()
    if not migrated:
        return "the database is not migrated: run `cachemeter migrate`"
    if not role:
        return (
            f"this login may not act as {APP_ROLE}: as a superuser run"
            f" GRANT {APP_ROLE} TO <this login>"
        )
    return None
