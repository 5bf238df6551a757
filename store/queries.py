"""Read queries for reports, the dashboard and readiness; every one is tenant-scoped."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, literal_column, select, text

from store.models import UsageEvent

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


def _group_expr(group_by: str) -> Any:
    if group_by == "day":
        return func.to_char(
            func.timezone("UTC", UsageEvent.occurred_at), literal_column("'YYYY-MM-DD'")
        )
    if group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPS)}")
    return getattr(UsageEvent, group_by)


def summary(
    conn: Connection, tenant_id: int, start: datetime, end: datetime, group_by: str
) -> list[GroupSummary]:
    """Totals per group over [start, end), ordered by group key."""
    key = _group_expr(group_by).label("key")
    priced = UsageEvent.cost.is_not(None)
    rows = conn.execute(
        select(
            key,
            UsageEvent.currency,
            func.count().label("requests"),
            func.count().filter(UsageEvent.cache_read_tokens > 0).label("hit_requests"),
            func.count().filter(~priced).label("unpriced"),
            func.sum(UsageEvent.input_tokens).label("input_tokens"),
            func.sum(UsageEvent.cache_read_tokens).label("cache_read_tokens"),
            func.sum(UsageEvent.cache_write_tokens).label("cache_write_tokens"),
            func.sum(UsageEvent.cache_write_1h_tokens).label("cache_write_1h_tokens"),
            func.sum(UsageEvent.output_tokens).label("output_tokens"),
            func.sum(UsageEvent.cost).label("cost"),
            func.sum(UsageEvent.nocache_cost).label("nocache_cost"),
            func.sum(UsageEvent.savings).label("savings"),
        )
        .where(
            UsageEvent.tenant_id == tenant_id,
            UsageEvent.occurred_at >= start,
            UsageEvent.occurred_at < end,
        )
        .group_by(key, UsageEvent.currency)
        .order_by(key.asc().nulls_last(), UsageEvent.currency)
    ).all()
    groups: dict[str | None, GroupSummary] = {}
    for row in rows:
        group = groups.setdefault(row.key, GroupSummary(key=row.key))
        group.requests += row.requests
        group.hit_requests += row.hit_requests
        group.unpriced_requests += row.unpriced
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


def ping(conn: Connection) -> bool:
    """True when the database answers and the schema is migrated."""
    return conn.execute(text("SELECT to_regclass('usage_events') IS NOT NULL")).scalar_one() is True
