"""Bulk pricing: totals over many records, exact, with prices resolved once per time bucket.

A price is resolved once per (provider, model, tenant, half-hour) and reused only when no
price can change inside the bucket (`PriceBook.stable`); otherwise every record of that
bucket is resolved on its own. Rates with at most nine decimals are applied as integers
(units of 1e-15), so totals are exact and need no Decimal work per record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from billing.charge import price_usage
from billing.price import Price, PriceNotFound, Rates
from billing.pricebook import PriceBook
from billing.pricecache import BUCKET_SECONDS, bucket_price
from billing.usage import Usage

SCALE = 10**9  # rates per MTok as integers: 1e-9 per MTok = 1e-15 per token
UNIT = Decimal(10) ** -15

Row = tuple[str, str | None, int, int, int, int, int, int]
"""(provider, model, epoch seconds, input, cache read, cache write, 1h write, output)."""


@dataclass
class BulkTotals:
    """Totals per currency, and what could not be priced."""

    cost: dict[str, Decimal] = field(default_factory=dict)
    nocache_cost: dict[str, Decimal] = field(default_factory=dict)
    records: int = 0
    unpriced: int = 0


def _scaled(rates: Rates) -> tuple[int, int, int, int, int] | None:
    values = (rates.input, rates.cache_read, rates.cache_write, rates.cache_write_1h, rates.output)
    scaled = [v * SCALE for v in values]
    if any(s != s.to_integral_value() for s in scaled):
        return None  # more than nine decimals (e.g. a discounted rate): price with Decimals
    p_in, p_read, p_write, p_write_1h, p_out = (int(s) for s in scaled)
    return p_in, p_read, p_write, p_write_1h, p_out


_SPLIT = object()  # the bucket's price changes inside it: resolve each record
_MISSING = object()
_NEVER = 1 << 62  # a threshold no request exceeds


class _Plan:
    """Integer rates of one price (base and at most one tier) and the sums priced with it."""

    __slots__ = ("currency", "high", "low", "price", "sums", "threshold")

    def __init__(self, price: Price) -> None:
        self.price = price
        self.currency = price.currency
        self.low = _scaled(price.rates)
        self.threshold, self.high = _NEVER, self.low
        if len(price.tiers) == 1:
            self.threshold, self.high = price.tiers[0].above, _scaled(price.tiers[0].rates)
        elif price.tiers:
            self.low = self.high = None  # several tiers: the Decimal path handles them
        self.sums = [0, 0]  # cost and no-cache cost, in units of 1e-15


class BulkPricer:
    """Prices many records against one price book."""

    def __init__(self, book: PriceBook, tenant: str | None = None) -> None:
        self._book = book
        self._tenant = tenant
        self._buckets: dict[tuple[str, str | None, int], object] = {}
        self._plans: dict[int, _Plan] = {}

    def _resolve(self, provider: str, model: str | None, at: datetime) -> Price | None:
        try:
            return self._book.resolve(provider, model, at, self._tenant)
        except PriceNotFound:
            return None

    def _plan(self, price: Price | None) -> _Plan | None:
        if price is None:
            return None
        plan = self._plans.get(id(price))
        if plan is None or plan.price is not price:
            plan = self._plans[id(price)] = _Plan(price)
        return plan

    def _bucket(self, provider: str, model: str | None, bucket: int) -> object:
        """The bucket's plan (None: unpriced), or _SPLIT when its price changes inside."""
        stable, price = bucket_price(self._book, provider, model, bucket, self._tenant)
        return self._plan(price) if stable else _SPLIT

    def totals(self, rows: Iterable[Row]) -> BulkTotals:
        """Exact cost and no-cache cost per currency over `rows` (valid canonical counts)."""
        out = BulkTotals()
        slow: list[tuple[Price, Usage]] = []
        buckets = self._buckets
        records = unpriced = 0
        for provider, model, ts, inp, read, write, w1h, output in rows:
            records += 1
            key = (provider, model, ts // BUCKET_SECONDS)
            plan = buckets.get(key, _MISSING)
            if plan is _MISSING:
                plan = buckets[key] = self._bucket(provider, model, key[2])
            if plan is _SPLIT:
                plan = self._plan(self._resolve(provider, model, datetime.fromtimestamp(ts, UTC)))
            if plan is None:
                unpriced += 1
                continue
            assert isinstance(plan, _Plan)
            rates = plan.high if inp > plan.threshold else plan.low
            if rates is None:
                slow.append((plan.price, Usage(inp, read, write, w1h, output)))
                continue
            p_in, p_read, p_write, p_write_1h, p_out = rates
            out_units = output * p_out
            sums = plan.sums
            sums[0] += (
                (inp - read - write) * p_in
                + read * p_read
                + (write - w1h) * p_write
                + w1h * p_write_1h
                + out_units
            )
            sums[1] += inp * p_in + out_units
        out.records, out.unpriced = records, unpriced
        for plan in self._plans.values():
            if plan.sums != [0, 0]:
                out.cost[plan.currency] = (
                    out.cost.get(plan.currency, Decimal(0)) + plan.sums[0] * UNIT
                )
                out.nocache_cost[plan.currency] = (
                    out.nocache_cost.get(plan.currency, Decimal(0)) + plan.sums[1] * UNIT
                )
                plan.sums = [0, 0]
        for price, usage in slow:
            charge = price_usage(usage, price)
            out.cost[price.currency] = out.cost.get(price.currency, Decimal(0)) + charge.cost
            out.nocache_cost[price.currency] = (
                out.nocache_cost.get(price.currency, Decimal(0)) + charge.nocache_cost
            )
        return out
