"""price(usage, price) -> Charge: the cost of one request, its no-cache counterfactual, savings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal

from billing.price import Price, Rates
from billing.usage import Usage

MTOK = Decimal(1_000_000)
# Stored as NUMERIC(24, 12): quantising here keeps Python values equal to stored ones.
MONEY_QUANTUM = Decimal("1e-12")
# Sums of many requests' money (a rollup holds up to 10^26) need more than the default
# context's 28 digits to be quantised to 12 places: past 10^16 it raises InvalidOperation.
WIDE = Context(prec=60)


def to_money(amount: Decimal, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """`amount` (a sum, however large) at the stored 12 places, half-even unless told."""
    return amount.quantize(MONEY_QUANTUM, rounding=rounding, context=WIDE)


@dataclass(frozen=True, slots=True)
class Charge:
    """Money for one request, by part, in `currency`."""

    currency: str
    uncached_input: Decimal
    cache_read: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    output: Decimal
    nocache_cost: Decimal
    rates: Rates
    writes_at_input: Decimal = Decimal(0)
    # Per-request fees of server-side tools (e.g. Anthropic web search), in `nocache_cost` too:
    # a request without cache would have paid them as well.
    tool_fees: Decimal = Decimal(0)

    @property
    def cost(self) -> Decimal:
        """What the request cost with caching as it happened."""
        return (
            self.uncached_input
            + self.cache_read
            + self.cache_write_5m
            + self.cache_write_1h
            + self.output
            + self.tool_fees
        )

    @property
    def savings(self) -> Decimal:
        """No-cache cost minus cost; negative when writes were paid and never read."""
        return self.nocache_cost - self.cost

    @property
    def write_premium(self) -> Decimal:
        """What cache writes cost above the same tokens at the plain input rate."""
        return self.cache_write_5m + self.cache_write_1h - self.writes_at_input


# What _money gives for no tokens at any rate: most requests have parts they did not use.
_NO_MONEY = Decimal(0).quantize(MONEY_QUANTUM)


def _money(tokens: int, rate: Decimal) -> Decimal:
    if tokens == 0:
        return _NO_MONEY
    return (tokens * rate / MTOK).quantize(MONEY_QUANTUM)


def price_usage(usage: Usage, price: Price) -> Charge:
    """Charge for `usage` at `price`; the tier is chosen by total input (cache included)."""
    rates = price.rates_for(usage.input_tokens)
    output = _money(usage.output_tokens, rates.output)
    return Charge(
        currency=price.currency,
        uncached_input=_money(usage.uncached_input_tokens, rates.input),
        cache_read=_money(usage.cache_read_tokens, rates.cache_read),
        cache_write_5m=_money(usage.cache_write_5m_tokens, rates.cache_write),
        cache_write_1h=_money(usage.cache_write_1h_tokens, rates.cache_write_1h),
        output=output,
        nocache_cost=_money(usage.input_tokens, rates.input) + output,
        rates=rates,
        writes_at_input=_money(usage.cache_write_tokens, rates.input),
    )


def add_charges(charges: Sequence[Charge]) -> Charge:
    """One charge for the parts of a request priced apart (its sampling steps), part by part;
    the rates shown are the first part's. ValueError for parts in different currencies."""
    first = charges[0]
    if any(c.currency != first.currency for c in charges):
        raise ValueError("the parts of one request are priced in different currencies")
    return Charge(
        currency=first.currency,
        uncached_input=sum((c.uncached_input for c in charges), Decimal(0)),
        cache_read=sum((c.cache_read for c in charges), Decimal(0)),
        cache_write_5m=sum((c.cache_write_5m for c in charges), Decimal(0)),
        cache_write_1h=sum((c.cache_write_1h for c in charges), Decimal(0)),
        output=sum((c.output for c in charges), Decimal(0)),
        nocache_cost=sum((c.nocache_cost for c in charges), Decimal(0)),
        rates=first.rates,
        writes_at_input=sum((c.writes_at_input for c in charges), Decimal(0)),
        tool_fees=sum((c.tool_fees for c in charges), Decimal(0)),
    )


def storage_cost(token_count: int, seconds: int, rate_mtok_hour: Decimal) -> Decimal:
    """Explicit-cache storage: tokens x hours held x rate per MTok-hour."""
    return (token_count * seconds * rate_mtok_hour / (MTOK * 3600)).quantize(MONEY_QUANTUM)


def money_text(amount: Decimal) -> str:
    """A decimal string without exponent or trailing zeros: 0.006, not 0.006000000000 or 6E-3."""
    text = f"{amount.normalize():f}"
    return "0" if text in ("-0", "0") else text
