"""Per-request fees of server-side tools, charged beside the tokens.

Anthropic bills web search at $10 per 1,000 searches (`usage.server_tool_use.web_search_requests`)
and web fetch at no cost beyond its tokens (Anthropic's pricing page, as of 2026-11). A tool
whose fee is not known, used at least once, leaves the request unpriced with the reason rather
than priced without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

from billing.charge import MONEY_QUANTUM, Charge, price_usage
from billing.price import Price, PriceNotFound
from billing.terms import at_terms
from billing.usage import Usage

# (provider, tool) -> USD per request.
FEES: dict[tuple[str, str], Decimal] = {
    ("anthropic", "web_search"): Decimal("0.01"),
    ("anthropic", "web_fetch"): Decimal(0),
}
FEE_CURRENCY = "USD"


def with_tool_fees(charge: Charge, provider: str, requests: Mapping[str, int]) -> Charge:
    """`charge` with the fees of `requests` (tool -> times used) added to cost and no-cache cost.

    Raises PriceNotFound, with the reason, for a tool used whose fee is not known, or fees in
    another currency than the charge's.
    """
    used = {tool: n for tool, n in requests.items() if n}
    if not used:
        return charge
    unknown = sorted(tool for tool in used if (provider, tool) not in FEES)
    if unknown:
        raise PriceNotFound(
            f"server tool fees of {provider} for {', '.join(unknown)} are not known, so the"
            " request is not priced without them (re-price it once they are)"
        )
    if charge.currency != FEE_CURRENCY:
        raise PriceNotFound(
            f"server tool fees are in {FEE_CURRENCY}, the request's price in {charge.currency}"
        )
    fees = sum((FEES[(provider, tool)] * n for tool, n in used.items()), Decimal(0))
    fees = fees.quantize(MONEY_QUANTUM)
    return replace(charge, tool_fees=fees, nocache_cost=charge.nocache_cost + fees)


def charge_request(
    usage: Usage,
    price: Price,
    provider: str,
    *,
    service_tier: str | None,
    inference_geo: str | None,
    tool_requests: Mapping[str, int],
) -> tuple[Price, Charge]:
    """The price under a request's service terms, and its charge with tool fees: the one way
    ingest and re-pricing charge a request. PriceNotFound, with the reason, where a term or
    fee is not known."""
    priced = at_terms(price, provider, service_tier, inference_geo)
    return priced, with_tool_fees(price_usage(usage, priced), provider, tool_requests)
