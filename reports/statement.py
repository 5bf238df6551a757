"""Finance statements: cost by part, savings, discount and write premium per group, in one
reporting currency; the totals row is the exact sum of the groups.

Aggregates are split by FX-rate period (store.statement reads them): a report in another
currency converts each period's sums at the one rate in force for all its events, and shares
each converted sum among the groups (billing.fx.RunningConversion), so the converted total is
the same whatever the grouping, and the same as the FOCUS export's.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from billing import moments
from billing.charge import money_text
from billing.fx import FxTable, RateNotFound, RunningConversion
from store.fx import load_fx
from store.statement import MONEY, PARTS, TOKENS, fx_breakpoints, storage_sums, usage_sums


class StatementError(ValueError):
    """A statement that cannot be made as asked: bad month, missing FX rate, mixed currencies."""


def month_range(month: str) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) of a YYYY-MM month, in UTC."""
    try:
        return moments.month_range(month)
    except moments.OutOfRange as exc:
        raise StatementError(f"month: {exc}") from None


@dataclass
class Line:
    """One group of a statement (or the totals)."""

    group: str | None
    requests: int = 0
    unpriced_requests: int = 0
    caches: int = 0
    unpriced_caches: int = 0
    tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKENS, 0))
    money: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(MONEY, Decimal(0)))

    def add(self, other: Line) -> None:
        """Add another line's figures into this one."""
        self.requests += other.requests
        self.unpriced_requests += other.unpriced_requests
        self.caches += other.caches
        self.unpriced_caches += other.unpriced_caches
        for k in TOKENS:
            self.tokens[k] += other.tokens[k]
        for k in MONEY:
            self.money[k] += other.money[k]

    def as_dict(self) -> dict[str, Any]:
        """The line with derived figures; money as decimal strings."""
        cost = sum((self.money[p] for p in PARTS), Decimal(0))
        nocache = self.money["nocache_cost"]
        savings = nocache - cost
        discount = (savings / nocache * 100).quantize(Decimal("0.01")) if nocache else None
        return {
            "group": self.group,
            "requests": self.requests,
            "unpriced_requests": self.unpriced_requests,
            "caches": self.caches,
            "unpriced_caches": self.unpriced_caches,
            **self.tokens,
            **{f"cost_{p}": money_text(self.money[p]) for p in PARTS},
            "cost": money_text(cost),
            "nocache_cost": money_text(nocache),
            "savings": money_text(savings),
            "effective_discount_pct": money_text(discount) if discount is not None else None,
            "write_premium": money_text(self.money["write_premium"]),
        }


def missing_rate(exc: RateNotFound) -> StatementError:
    """The report error of a conversion without a rate, saying how to add one."""
    return StatementError(f"{exc} (add one with `cachemeter fx add`)")


def _convert(
    amount: Decimal | None, currency: str | None, at: datetime, kind: str, fx: RunningConversion
) -> Decimal:
    if amount is None or currency is None:
        return Decimal(0)
    try:
        return fx.convert(amount, currency, at, kind)
    except RateNotFound as exc:
        raise missing_rate(exc) from None


def statement(
    conn: Connection, tenant_id: int, month: str, group_by: str, currency: str | None
) -> dict[str, Any]:
    """The statement of one month; `currency` None means the one currency the events use."""
    start, end = month_range(month)
    breakpoints = fx_breakpoints(conn, start, end)
    usage = usage_sums(conn, tenant_id, start, end, group_by, breakpoints)
    storage = storage_sums(conn, tenant_id, start, end, group_by, breakpoints)
    currencies = {r.currency for r in (*usage, *storage) if r.currency is not None}
    if currency is None:
        if len(currencies) > 1:
            raise StatementError(
                f"charges are in {', '.join(sorted(currencies))}: choose a reporting currency"
            )
        currency = next(iter(currencies), "USD")
    fx = RunningConversion(load_fx(conn) if currencies - {currency} else FxTable([]), currency)
    period_start: Sequence[datetime] = [start, *breakpoints]
    lines: dict[str | None, Line] = {}
    for row in usage:
        line = Line(
            row.key, requests=int(row.requests), unpriced_requests=int(row.unpriced_requests)
        )
        for k in TOKENS:
            line.tokens[k] = int(getattr(row, k))
        at = period_start[row.segment]
        for k in (*PARTS[:-1], "nocache_cost", "write_premium"):
            line.money[k] = _convert(getattr(row, k), row.currency, at, k, fx)
        lines.setdefault(row.key, Line(row.key)).add(line)
    for row in storage:
        line = Line(row.key, caches=row.caches, unpriced_caches=row.unpriced_caches)
        line.money["storage"] = _convert(
            row.storage, row.currency, period_start[row.segment], "storage", fx
        )
        lines.setdefault(row.key, Line(row.key)).add(line)
    ordered = sorted(lines.values(), key=lambda ln: (ln.group is None, ln.group or ""))
    total = Line("TOTAL")
    for line in ordered:
        total.add(line)
    return {
        "month": month,
        "group_by": group_by,
        "currency": currency,
        "source_currencies": sorted(currencies),
        "lines": [ln.as_dict() for ln in ordered],
        "total": total.as_dict(),
    }


# The columns a statement table shows people (the CSV has every column).
SUMMARY_COLUMNS = (
    "group",
    "requests",
    *(f"cost_{p}" for p in PARTS),
    "cost",
    "nocache_cost",
    "savings",
    "effective_discount_pct",
    "write_premium",
)
# The columns that are money (in the statement's currency): formatted for people in tables.
MONEY_COLUMNS = (*(f"cost_{p}" for p in PARTS), "cost", "nocache_cost", "savings", "write_premium")
COLUMNS = (
    "group",
    "requests",
    "unpriced_requests",
    *TOKENS,
    *(f"cost_{p}" for p in PARTS),
    "cost",
    "nocache_cost",
    "savings",
    "effective_discount_pct",
    "write_premium",
)


def statement_csv(body: dict[str, Any]) -> str:
    """A statement as CSV: one row per group, then the TOTAL row; currency in every row."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*COLUMNS, "currency"], extrasaction="ignore")
    writer.writeheader()
    for line in [*body["lines"], body["total"]]:
        writer.writerow({**line, "currency": body["currency"]})
    return out.getvalue()
