"""Service tiers: what the tier a provider served a request at does to its price.

A tier the provider documents as a uniform discount scales every rate (cache reads and writes
included): Anthropic's Message Batches API and OpenAI's Batch API bill half the standard rates,
and OpenAI's flex processing is billed at Batch API rates (providers' pricing pages, as of
2026-11). A tier whose rates are not known (e.g. priority, with per-model rates of its own) is
never priced at the standard rate: the request stays unpriced with the reason.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from billing.price import Price, PriceNotFound, Tier

# What providers report for their ordinary, list-price tier.
STANDARD = frozenset(("standard", "default", "auto", "on_demand", "standard_only"))
# (provider, tier) -> the factor on every rate.
DISCOUNTS: dict[tuple[str, str], Decimal] = {
    ("anthropic", "batch"): Decimal("0.5"),
    ("openai", "batch"): Decimal("0.5"),
    ("openai", "flex"): Decimal("0.5"),
}


def at_service_tier(price: Price, provider: str, tier: str | None) -> Price:
    """`price` as billed at `tier` (None or a standard tier: unchanged).

    Raises PriceNotFound, with the reason, for a tier whose rates are not known.
    """
    if tier is None or tier.lower() in STANDARD:
        return price
    factor = DISCOUNTS.get((provider, tier.lower()))
    if factor is None:
        raise PriceNotFound(
            f"service tier {tier!r} of {provider}: its rates are not known, so the request is"
            " not priced at the standard rate (re-price it once a price for the tier exists)"
        )
    return replace(
        price,
        rates=price.rates.scaled(factor),
        tiers=tuple(Tier(t.above, t.rates.scaled(factor)) for t in price.tiers),
    )
