"""`cachemeter explain`: one payload's canonical counts, price and charge, as one JSON object."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from billing import PriceBook
from billing.aliases import canonical_model
from billing.charge import money_text
from ingest.detect import normalise_payload
from ingest.pricing import price_record
from ingest.record import UsageRecord, token_fields


def explain(
    payload: Any,
    book: PriceBook,
    at: datetime,
    provider: str | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    """Normalise and price one payload (no database); money as decimal strings."""
    normalised = normalise_payload(payload, provider, model)
    provider_id = normalised.provider or "unknown"
    record = UsageRecord(
        usage=normalised.usage,
        provider=provider_id,
        model=canonical_model(provider_id, normalised.model) if normalised.model else None,
        reported_model=normalised.model,
        shape=normalised.shape,
        occurred_at=at,
        source="explain",
        request_id=normalised.response_id,
        reported_cost=normalised.reported_cost,
        service_tier=normalised.service_tier,
        inference_geo=normalised.inference_geo,
        speed=normalised.speed,
        steps=normalised.steps,
        tool_requests=normalised.tool_requests,
    )
    priced = price_record(record, book, None)
    usage, charge, price = record.usage, priced.charge, priced.price
    out: dict[str, Any] = {
        "provider": record.provider,
        "model": record.model,
        "reported_model": record.reported_model,
        "shape": record.shape,
        **token_fields(usage),
        "currency": charge.currency if charge else None,
        "cost": money_text(charge.cost) if charge else None,
        "nocache_cost": money_text(charge.nocache_cost) if charge else None,
        "savings": money_text(charge.savings) if charge else None,
        "parts": {
            "uncached_input": money_text(charge.uncached_input),
            "cache_read": money_text(charge.cache_read),
            "cache_write_5m": money_text(charge.cache_write_5m),
            "cache_write_1h": money_text(charge.cache_write_1h),
            "output": money_text(charge.output),
        }
        if charge
        else None,
        "price": {
            **charge.rates.as_dict(),
            "source": price.source,
            "model": price.model,
            "ref": price.ref,
            "tiered": bool(price.tiers),
        }
        if charge and price
        else None,
        "request_id": record.request_id,
        "reported_cost": money_text(record.reported_cost)
        if record.reported_cost is not None
        else None,
        "miss_hint": priced.miss_hint,
    }
    if priced.unpriced_reason:
        out["unpriced_reason"] = priced.unpriced_reason
    return out
