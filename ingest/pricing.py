"""Price a normalised record: a charge, or an explicit reason why there is none."""

from __future__ import annotations

from dataclasses import dataclass

from billing import Charge, Price, PriceNotFound, price_usage
from billing.pricecache import PriceResolver
from billing.terms import at_terms
from billing.tool_fees import with_tool_fees
from cache.misses import miss_hint
from ingest.record import UsageRecord


@dataclass(frozen=True, slots=True)
class PricedRecord:
    """A record with its charge and the price used, or `unpriced_reason` (never a silent 0)."""

    record: UsageRecord
    charge: Charge | None
    price: Price | None
    unpriced_reason: str | None
    miss_hint: str | None


def price_record(record: UsageRecord, book: PriceResolver, tenant: str | None) -> PricedRecord:
    """Resolve the price at the request's time (and service terms) and compute its charge,
    server-tool fees included."""
    hint = miss_hint(record.provider, record.model, record.usage)
    try:
        price = book.resolve(record.provider, record.model, record.occurred_at, tenant)
        price = at_terms(price, record.provider, record.service_tier, record.inference_geo)
        charge = with_tool_fees(
            price_usage(record.usage, price), record.provider, record.tool_requests
        )
    except PriceNotFound as exc:
        return PricedRecord(record, None, None, exc.reason, hint)
    return PricedRecord(record, charge, price, None, hint)
