"""Fees billed beside the tokens: server-side tools per use, other billed quantities per unit,
and a fee some models charge on every request.

A price lists its own fees where its source does (genai-prices: web searches and file searches
per 1,000, citation tokens per million, requests per 1,000 — Perplexity Sonar's request fee).
Where it lists none, the fees below apply: Anthropic bills web search at $10 per 1,000 searches
(`usage.server_tool_use.web_search_requests`) and web fetch at no cost beyond its tokens
(Anthropic's pricing page, as of 2026-11). A quantity whose fee is not known, used at least
once, leaves the request unpriced with the reason rather than priced without it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal

from billing.charge import MONEY_QUANTUM, Charge, add_charges, price_usage
from billing.price import Price, PriceNotFound
from billing.terms import at_terms
from billing.usage import Step, Usage

# (provider, quantity) -> USD per unit, where the price itself lists no fee for it.
FEES: dict[tuple[str, str], Decimal] = {
    ("anthropic", "web_search"): Decimal("0.01"),
    ("anthropic", "web_fetch"): Decimal(0),
}
FEE_CURRENCY = "USD"


def _fee(price: Price, provider: str, name: str) -> Decimal | None:
    listed = dict(price.unit_fees)
    return listed[name] if name in listed else FEES.get((provider, name))


def with_tool_fees(
    charge: Charge, price: Price, provider: str, requests: Mapping[str, int]
) -> Charge:
    """`charge` with the fees of `requests` (quantity -> units used), and `price`'s fee per
    request, added to cost and no-cache cost.

    Raises PriceNotFound, with the reason, for a quantity used whose fee is not known, or fees
    in another currency than the charge's.
    """
    used = {name: n for name, n in requests.items() if n}
    if not used and price.request_fee is None:
        return charge
    fee = {name: _fee(price, provider, name) for name in used}
    unknown = sorted(name for name, each in fee.items() if each is None)
    if unknown:
        raise PriceNotFound(
            f"fees of {provider} for {', '.join(unknown)} are not known, so the request is not"
            " priced without them (re-price it once they are)"
        )
    # A price's own fees are in its currency; the fallback table's are in USD.
    if charge.currency != FEE_CURRENCY and set(used) - set(dict(price.unit_fees)):
        raise PriceNotFound(
            f"server tool fees are in {FEE_CURRENCY}, the request's price in {charge.currency}"
        )
    fees = sum(((fee[name] or Decimal(0)) * n for name, n in used.items()), Decimal(0))
    fees += price.request_fee or Decimal(0)
    fees = fees.quantize(MONEY_QUANTUM)
    return replace(charge, tool_fees=fees, nocache_cost=charge.nocache_cost + fees)


def charge_request(
    usage: Usage,
    model: str | None,
    resolve: Callable[[str | None], Price],
    provider: str,
    *,
    service_tier: str | None,
    inference_geo: str | None,
    speed: str | None = None,
    tool_requests: Mapping[str, int],
    steps: Sequence[Step] = (),
) -> tuple[Price, Charge]:
    """The price of `model` (from `resolve`) under a request's service terms, and the request's
    charge with its fees: the one way ingest and re-pricing charge a request.

    A request made of sampling steps is the sum of its steps, each charged at the price of
    the model it ran on (an advisor or fallback step at its own model's rates) and its own
    long-context tier. PriceNotFound, with the reason, where a price, term or fee is not known.
    """
    priced = at_terms(resolve(model), provider, service_tier, inference_geo, speed)
    if not steps:
        return priced, with_tool_fees(price_usage(usage, priced), priced, provider, tool_requests)
    charges = []
    for step_model, step_usage in steps:
        step_price = priced
        if step_model is not None and step_model != model:
            step_price = at_terms(resolve(step_model), provider, service_tier, inference_geo, speed)
        charges.append(price_usage(step_usage, step_price))
    try:
        charge = add_charges(charges)
    except ValueError as exc:
        raise PriceNotFound(str(exc)) from None
    return priced, with_tool_fees(charge, priced, provider, tool_requests)
