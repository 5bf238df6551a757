"""A request's service terms and what they do to its price: the service tier a provider served
it at, the geography inference ran in, and the speed it ran at.

A term the provider documents as a uniform factor scales every rate (cache reads and writes
and long-context tiers included), as the providers' pricing pages say (as of 2026-11):
Anthropic's Message Batches API and OpenAI's Batch API bill half the standard rates, OpenAI's
flex processing is billed at Batch API rates, and Anthropic's US-only inference
(`inference_geo: "us"`) costs 1.1x. Anthropic's fast mode (`speed: "fast"`) is a per-model
multiplier on every rate, prompt-caching multipliers applying on top (Anthropic's fast-mode
docs; the multipliers as Anthropic and OpenRouter list them, 2026-11): 6x for Claude Opus 4.6
and 4.7, 2x for Opus 4.8 and Opus 5. A term whose rates are not known (e.g. OpenAI's priority
tier, with per-model rates of its own) is never priced at the standard rate: the request stays
unpriced with the reason.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from billing.price import Price, PriceNotFound, Tier

# What providers report for their ordinary, list-price service tier and geography.
STANDARD_TIERS = frozenset(("standard", "default", "auto", "on_demand", "standard_only"))
# Anthropic answers `not_available` for a model without a choice of geography: the list rates.
STANDARD_GEOS = frozenset(("global", "not_available"))
# (provider, value) -> the factor on every rate.
TIER_FACTORS: dict[tuple[str, str], Decimal] = {
    ("anthropic", "batch"): Decimal("0.5"),
    ("openai", "batch"): Decimal("0.5"),
    ("openai", "flex"): Decimal("0.5"),
}
# Perplexity's request fee by model and search context size, USD per request (Perplexity's
# pricing page, "Request pricing", as of 2026-11: per 1,000 requests Sonar and Sonar Reasoning
# $5 / $8 / $12, Sonar Pro and Sonar Reasoning Pro $6 / $10 / $14; genai-prices lists the high
# ones). Its token rates do not change with the size.
SEARCH_CONTEXT = "search_context:"
REQUEST_FEES: dict[tuple[str, str, str], Decimal] = {
    ("perplexity", model, size): Decimal(fee) / 1000
    for models, fees in (
        (("sonar", "sonar-reasoning"), ("5", "8", "12")),
        (("sonar-pro", "sonar-reasoning-pro"), ("6", "10", "14")),
    )
    for model in models
    for size, fee in zip(("low", "medium", "high"), fees, strict=True)
}
GEO_FACTORS: dict[tuple[str, str], Decimal] = {("anthropic", "us"): Decimal("1.1")}
STANDARD_SPEEDS = frozenset(("standard", "normal", "default"))
# (provider, model as the price names it) -> the fast-mode factor on every rate.
FAST_FACTORS: dict[tuple[str, str], Decimal] = {
    ("anthropic", "claude-opus-4-6"): Decimal(6),
    ("anthropic", "claude-opus-4-7"): Decimal(6),
    ("anthropic", "claude-opus-4-8"): Decimal(2),
    ("anthropic", "claude-opus-5"): Decimal(2),
}


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
    if tier is not None and tier.startswith(SEARCH_CONTEXT):
        return _at_search_context(price, provider, tier.removeprefix(SEARCH_CONTEXT))
    return _at(price, provider, tier, "service tier", STANDARD_TIERS, TIER_FACTORS)


def _at_search_context(price: Price, provider: str, size: str) -> Price:
    if price.request_fee is None:
        return price  # a model without a request fee (Sonar Deep Research): nothing changes
    fee = REQUEST_FEES.get((provider, price.model, size.lower()))
    if fee is None:
        raise PriceNotFound(
            f"the request fee of {provider}/{price.model} at search context size {size!r} is"
            " not known, so the request is not priced without it"
        )
    return replace(price, request_fee=fee)


def at_inference_geo(price: Price, provider: str, geo: str | None) -> Price:
    """`price` for inference in `geo` (None or global: unchanged); PriceNotFound, with the
    reason, for a geography whose rates are not known."""
    return _at(price, provider, geo, "inference geo", STANDARD_GEOS, GEO_FACTORS)


def at_speed(price: Price, provider: str, speed: str | None) -> Price:
    """`price` at inference `speed` (None or standard: unchanged); PriceNotFound, with the
    reason, for a speed whose rates for this model are not known."""
    if speed is None or speed.lower() in STANDARD_SPEEDS:
        return price
    factors = {
        (provider, speed.lower()): factor
        for (p, model), factor in FAST_FACTORS.items()
        if p == provider and model == price.model and speed.lower() == "fast"
    }
    return _at(price, provider, speed, f"speed for {price.model}", STANDARD_SPEEDS, factors)


def at_terms(
    price: Price, provider: str, tier: str | None, geo: str | None, speed: str | None = None
) -> Price:
    """`price` under every term of a request."""
    priced = at_inference_geo(at_service_tier(price, provider, tier), provider, geo)
    return at_speed(priced, provider, speed)
