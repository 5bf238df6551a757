"""Price a normalised record: a charge, or an explicit reason why there is none."""

from __future__ import annotations

from dataclasses import dataclass

from billing import Charge, Price, PriceNotFound
from billing.pricecache import PriceResolver
from billing.tool_fees import charge_request
from cache.misses import BELOW_MINIMUM, DIAGNOSED, diagnosed_change, miss_hint
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
    hint = miss_hint(record.provider, record.priced_as, record.usage)
    if hint != BELOW_MINIMUM and diagnosed_change(record.usage, record.cache_miss_reason):
        hint = DIAGNOSED  # the provider's own word over what one request can infer
    try:
        price, charge = charge_request(
            record.usage,
            record.priced_as,
            lambda model: book.resolve(record.provider, model, record.occurred_at, tenant),
            record.provider,
            service_tier=record.service_tier,
            inference_geo=record.inference_geo,
            speed=record.speed,
            tool_requests=record.tool_requests,
            steps=record.steps,
        )
    except PriceNotFound as exc:
        return PricedRecord(record, None, None, exc.reason, hint)
    return PricedRecord(record, charge, price, None, hint)
