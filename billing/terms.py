"""A request's service terms and what they do to its price: the service tier a provider served
it at and the geography inference ran in.

A term the provider documents as a uniform factor scales every rate (cache reads and writes
and long-context tiers included), as the providers' pricing pages say (as of 2026-11):
Anthropic's Message Batches API and OpenAI's Batch API bill half the standard rates, OpenAI's
flex processing is billed at Batch API rates, and Anthropic's US-only inference
(`inference_geo: "us"`) costs 1.1x. A term whose rates are not known (e.g. OpenAI's priority
tier, with per-model rates of its own) is never priced at the standard rate: the request stays
unpriced with the reason.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from billing.price import Price, PriceNotFound, Tier

# What providers report for their ordinary, list-price service tier and geography.
STANDARD_TIERS = frozenset(("standard", "default", "auto", "on_demand", "standard_only"))
STANDARD_GEOS = frozenset(("global",))
# (provider, value) -> the factor on every rate.
TIER_FACTORS: dict[tuple[str, str], Decimal] = {
    ("anthropic", "batch"): Decimal("0.5"),
    ("openai", "batch"): Decimal("0.5"),
    ("openai", "flex"): Decimal("0.5"),
}
GEO_FACTORS: dict[tuple[str, str], Decimal] = {("anthropic", "us"): Decimal("1.1")}


def _at(
    price: Price,
    provider: str,
    value: str | None,
    what: str,
    standard: frozenset[str],
    factors: dict[tuple[str, str], Decimal],
) -> Price:
    if value is None or value.lower() in standard:
        return price
    factor = factors.get((provider, value.lower()))
    if factor is None:
        raise PriceNotFound(
            f"{what} {value!r} of {provider}: its rates are not known, so the request is not"
            " priced at the standard rate (re-price it once a price for it exists)"
        )
    return replace(
        price,
        rates=price.rates.scaled(factor),
        tiers=tuple(Tier(t.above, t.rates.scaled(factor)) for t in price.tiers),
    )


def at_service_tier(price: Price, provider: str, tier: str | None) -> Price:
    """`price` as billed at service `tier` (None or a standard tier: unchanged); PriceNotFound,
    with the reason, for a tier whose rates are not known."""
    return _at(price, provider, tier, "service tier", STANDARD_TIERS, TIER_FACTORS)


def at_inference_geo(price: Price, provider: str, geo: str | None) -> Price:
    """`price` for inference in `geo` (None or global: unchanged); PriceNotFound, with the
    reason, for a geography whose rates are not known."""
    return _at(price, provider, geo, "inference geo", STANDARD_GEOS, GEO_FACTORS)


def at_terms(price: Price, provider: str, tier: str | None, geo: str | None) -> Price:
    """`price` under both terms of a request."""
    return at_inference_geo(at_service_tier(price, provider, tier), provider, geo)
