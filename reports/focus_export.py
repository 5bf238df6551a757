"""The FOCUS export of a month: every charge part of the tenant's usage and explicit-cache
storage as FOCUS 1.0 rows (reports.focus), in one billing currency, streamed.

Money is the statement's: the same events, storage by the caches' creation, converted at the
FX rate in force in each rate period (a charge period an FX change cuts is two rows) and
shared out as the statement shares it (billing.fx.RunningConversion), so the rows' BilledCost
adds up to the statement's total exactly, in any currency. The list-price layer is the catalogue's:
for requests the tenant's own prices priced, each request is priced again at the list price
(tiers go by request); for the others the list price is the price they were billed at.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import groupby
from typing import Any

from sqlalchemy import Connection

from billing.aliases import canonical_provider, provider_for_model
from billing.charge import price_usage, to_money
from billing.fx import RateNotFound, RunningConversion
from billing.price import PriceNotFound
from billing.pricebook import PriceBook
from billing.usage import Usage
from reports.focus import ChargeLine
from reports.statement import StatementError, missing_rate, month_range
from store.focus import (
    PERIODS,
    currencies,
    negotiated_events,
    storage_groups,
    usage_groups,
)
from store.fx import load_fx
from store.prices import load_price_book
from store.statement import fx_breakpoints

STEP = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
# Token parts: (FOCUS part, tokens column, cost column).
TOKEN_PARTS = (
    ("uncached_input", "uncached_input_tokens", "cost_uncached_input"),
    ("cache_read", "cache_read_tokens", "cost_cache_read"),
    ("cache_write_5m", "cache_write_5m_tokens", "cost_cache_write_5m"),
    ("cache_write_1h", "cache_write_1h_tokens", "cost_cache_write_1h"),
    ("output", "output_tokens", "cost_output"),
    ("tool_fees", "tool_calls", "cost_tool_fees"),
)
# The parts whose tokens would have been plain input without the cache.
CACHED = ("cache_read", "cache_write_5m", "cache_write_1h")
_KEY = (
    "period",
    "segment",
    "provider",
    "model",
    "app",
    "team",
    "environment",
    "currency",
    "price_source",
    "price_id",
    "price_ref",
    "inference_geo",
)


@dataclass
class ExportSummary:
    """What an export holds, for the one who asked for it (the CLI prints it)."""

    month: str
    currency: str
    rows: int = 0
    requests: int = 0
    unpriced_requests: int = 0
    caches: int = 0
    list_price_unknown: int = 0
    billed: Decimal = Decimal(0)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Frame:
    """What every row of the export shares."""

    tenant: str
    currency: str
    billing_period: tuple[datetime, datetime]
    period_starts: Sequence[datetime]
    fx: RunningConversion
    step: timedelta

    def convert(self, amount: Decimal, currency: str | None, segment: int, kind: str) -> Decimal:
        """`amount` in the billing currency; amounts of one kind add up as the statement's."""
        if currency is None or not amount:
            return Decimal(0)
        try:
            return self.fx.convert(amount, currency, self.period_starts[segment], kind)
        except RateNotFound as exc:
            raise missing_rate(exc) from None

    def charge_period(self, period: datetime, segment: int) -> tuple[datetime, datetime]:
        # The charge period, cut where an FX rate period starts or ends inside it.
        starts = self.period_starts
        ends = [*starts[1:], self.billing_period[1]]
        return max(period, starts[segment]), min(period + self.step, ends[segment])


def _nocache_by_part(row: Any, cost: dict[str, Decimal]) -> dict[str, Decimal]:
    """The no-cache cost of each part: what it cost for the parts a cache does not change,
    and the rest of the group's no-cache cost shared by the cached parts' tokens (all of a
    group's input is at one rate)."""
    plain = {p: cost[p] for p in ("uncached_input", "output", "tool_fees")}
    left = Decimal(row.nocache_cost) - sum(plain.values(), Decimal(0))
    tokens = {p: int(getattr(row, column)) for p, column, _ in TOKEN_PARTS if p in CACHED}
    total = sum(tokens.values())
    shares: dict[str, Decimal] = {p: Decimal(0) for p in CACHED}
    if total:
        given = Decimal(0)
        cached = [p for p in CACHED if tokens[p]]
        for p in cached[:-1]:
            shares[p] = to_money(left * tokens[p] / total)
            given += shares[p]
        shares[cached[-1]] = left - given
    elif left:
        # Nothing cached, yet more than its parts (a fee per request): kept, on the input.
        plain["uncached_input"] += left
    return {**plain, **shares}


def _lines(
    frame: _Frame, row: Any, list_costs: dict[str, Decimal] | None, summary: ExportSummary
) -> Iterator[ChargeLine]:
    """The charge lines of one usage group: one per part with tokens or cost."""
    summary.requests += int(row.requests)
    summary.unpriced_requests += int(row.unpriced_requests)
    cost = {p: Decimal(getattr(row, c)) for p, _, c in TOKEN_PARTS}
    nocache = _nocache_by_part(row, cost)
    for part, tokens_column, _ in TOKEN_PARTS:
        quantity = int(getattr(row, tokens_column))
        if not quantity and not cost[part]:
            continue
        billed = frame.convert(cost[part], row.currency, row.segment, part)
        listed = billed if list_costs is None else list_costs.get(part, billed)
        summary.billed += billed
        yield ChargeLine(
            billing_period=frame.billing_period,
            charge_period=frame.charge_period(row.period, row.segment),
            tenant=frame.tenant,
            provider=row.provider,
            model=row.model or "(no model)",
            part=part,
            quantity=Decimal(quantity),
            billed_cost=billed,
            list_cost=listed,
            currency=frame.currency,
            nocache_cost=frame.convert(nocache[part], row.currency, row.segment, "nocache_cost"),
            price_id=_price_id(row.price_source, row.price_id, row.price_ref),
            region=row.inference_geo,
            app=row.app,
            team=row.team,
            environment=row.environment,
            tags={"prompt_cache_key": row.prompt_cache_key} if row.prompt_cache_key else {},
            unpriced_requests=int(row.unpriced_requests),
            publisher=publisher(row.provider, row.model),
        )


def _price_id(source: str | None, row_id: int | None, ref: str | None) -> str | None:
    """The price row a charge was computed with: a stored price's id, else genai-prices'."""
    if source is None:
        return None
    if row_id is not None:
        return f"{source}:{row_id}"
    return f"{source}:{ref}" if ref else source


def _list_costs(
    frame: _Frame, book: PriceBook, events: Iterable[Any], summary: ExportSummary
) -> dict[str, Decimal] | None:
    """A negotiated group's parts at the list price, request by request, converted; None (list
    = billed) when some request's model has no list price."""
    totals: dict[str, Decimal] = {}
    for event in events:
        try:
            price = book.resolve(event.provider, event.model, event.occurred_at)
        except PriceNotFound:
            summary.list_price_unknown += 1
            return None
        charge = price_usage(
            Usage(
                input_tokens=event.input_tokens,
                cache_read_tokens=event.cache_read_tokens,
                cache_write_tokens=event.cache_write_tokens,
                cache_write_1h_tokens=event.cache_write_1h_tokens,
                output_tokens=event.output_tokens,
            ),
            price,
        )
        for part in ("uncached_input", "cache_read", "cache_write_5m", "cache_write_1h", "output"):
            amount = frame.convert(
                getattr(charge, part), charge.currency, event.segment, f"list {part}"
            )
            totals[part] = totals.get(part, Decimal(0)) + amount
    return totals


def _storage_lines(
    frame: _Frame, rows: Sequence[Any], summary: ExportSummary
) -> Iterator[ChargeLine]:
    for row in rows:
        summary.caches += int(row.caches)
        billed = frame.convert(Decimal(row.storage), row.currency, row.segment, "storage")
        summary.billed += billed
        yield ChargeLine(
            billing_period=frame.billing_period,
            charge_period=frame.charge_period(row.period, row.segment),
            tenant=frame.tenant,
            provider=row.provider,
            model=row.model,
            part="storage",
            quantity=to_money(Decimal(row.mtok_hours)),
            billed_cost=billed,
            list_cost=billed,
            currency=frame.currency,
            price_id=_price_id(row.price_source, row.price_id, None),
            app=row.app,
            team=row.team,
            environment=row.environment,
            publisher=publisher(row.provider, row.model),
        )


@functools.lru_cache(maxsize=1024)
def publisher(provider: str, model: str | None) -> str:
    """Who made the model: its maker where a gateway or cloud resells it (OpenRouter's or
    Bedrock's Claude is Anthropic's), else the provider itself."""
    if model:
        maker = provider_for_model(model)
        if maker is not None:
            return maker
        vendor, slash, _ = model.partition("/")
        if slash and vendor:
            return canonical_provider(vendor)
    return provider


def focus_export(
    conn: Connection,
    tenant_id: int,
    tenant_name: str,
    month: str,
    currency: str | None,
    period: str = "day",
) -> tuple[ExportSummary, Iterator[ChargeLine]]:
    """The month's FOCUS charge lines, streamed (the summary is complete once they are read);
    `currency` None means the one currency the month's charges use. StatementError for a bad
    month, mixed currencies without a reporting currency, or a missing FX rate."""
    if period not in PERIODS:
        raise StatementError(f"period must be one of {', '.join(PERIODS)}")
    start, end = month_range(month)
    found = currencies(conn, tenant_id, start, end)
    if currency is None:
        if len(found) > 1:
            raise StatementError(
                f"charges are in {', '.join(sorted(found))}: choose a reporting currency"
            )
        currency = next(iter(found), "USD")
    breakpoints = fx_breakpoints(conn, start, end)
    # Always: a negotiated price's list price may be in another currency.
    fx = load_fx(conn)
    frame = _Frame(
        tenant=tenant_name,
        currency=currency,
        billing_period=(start, end),
        period_starts=[start, *breakpoints],
        fx=RunningConversion(fx, currency),
        step=STEP[period],
    )
    # Every rate the month's charges need, before the first row (an HTTP answer cannot turn
    # into an error once it has begun).
    for source in found - {currency}:
        for at in frame.period_starts:
            try:
                fx.rate(source, currency, at)
            except RateNotFound as exc:
                raise missing_rate(exc) from None
    summary = ExportSummary(month=month, currency=currency)

    def lines() -> Iterator[ChargeLine]:
        for row in usage_groups(conn, tenant_id, start, end, period, breakpoints, negotiated=False):
            yield from _lines(frame, row, None, summary)
        book = load_price_book(conn)
        events = groupby(
            negotiated_events(conn, tenant_id, start, end, period, breakpoints),
            key=lambda e: tuple(getattr(e, k) for k in _KEY),
        )
        for row in usage_groups(conn, tenant_id, start, end, period, breakpoints, negotiated=True):
            key, group = next(events, (None, iter(())))
            # Both queries group and order the same events the same way.
            if key != tuple(getattr(row, k) for k in _KEY):
                raise RuntimeError(f"negotiated events out of step with their groups at {key}")
            yield from _lines(frame, row, _list_costs(frame, book, group, summary), summary)
        yield from _storage_lines(
            frame, storage_groups(conn, tenant_id, start, end, period, breakpoints), summary
        )

    def counted() -> Iterator[ChargeLine]:
        for line in lines():
            summary.rows += 1
            yield line
        if summary.unpriced_requests:
            summary.notes.append(
                f"{summary.unpriced_requests:,} unpriced requests are in with a cost of 0"
                " (x_UnpricedRequests): price them with `cachemeter prices add` and reprice"
            )
        if summary.list_price_unknown:
            summary.notes.append(
                f"{summary.list_price_unknown:,} negotiated groups have no list price for"
                " their model: their ListCost is their ContractedCost"
            )

    return summary, counted()
