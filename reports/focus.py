"""FOCUS 1.0 rows (the FinOps Open Cost and Usage Specification): one charge line of LLM usage,
one part of it (uncached input, cache read, 5-minute or 1-hour cache write, output, explicit
cache storage, tool fees), as the columns finance tools load.

Pure: a `ChargeLine` in, a row of text cells out, and the CSV of many (streamed, so a month's
export needs no more memory than one row). Which lines there are is the export's business.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

# The FOCUS 1.0 columns, in the specification's order.
FOCUS_1_0 = (
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "SkuId",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
)
# The FinOps Foundation's validator 1.0.0 still reads five columns by their names of the 1.0
# drafts (ChargeType became ChargeCategory; ProviderName, PublisherName, InvoiceIssuerName and
# ResourceId lost or changed a suffix): they repeat the final columns so that it finds them.
VALIDATOR_NAMES = {
    "Provider": "ProviderName",
    "Publisher": "PublisherName",
    "InvoiceIssuer": "InvoiceIssuerName",
    "ResourceID": "ResourceId",
    "ChargeType": "ChargeCategory",
}
# FOCUS 1.1's subcategory of a service (the validator 1.0 takes columns it does not check).
LATER = ("ServiceSubcategory",)
# What FOCUS has no column for, by its convention for custom columns: the x_ prefix.
VENDOR = ("x_NoCacheCost", "x_Savings", "x_CachePart", "x_Model", "x_Tenant", "x_UnpricedRequests")
COLUMNS = (*FOCUS_1_0, *VALIDATOR_NAMES, *LATER, *VENDOR)


@dataclass(frozen=True)
class Part:
    """A charge part: its SKU suffix, words, and what its quantity counts."""

    sku: str
    description: str
    consumed_unit: str
    pricing_unit: str
    # Consumed units in one pricing unit (a unit price is per million tokens).
    per_pricing_unit: Decimal


_MTOK = Decimal(1_000_000)
PARTS = {
    "uncached_input": Part("input", "uncached input tokens", "Tokens", "1M Tokens", _MTOK),
    "cache_read": Part("cache-read", "cache read tokens", "Tokens", "1M Tokens", _MTOK),
    "cache_write_5m": Part(
        "cache-write-5m", "cache write tokens (5-minute TTL)", "Tokens", "1M Tokens", _MTOK
    ),
    "cache_write_1h": Part(
        "cache-write-1h", "cache write tokens (1-hour TTL)", "Tokens", "1M Tokens", _MTOK
    ),
    "output": Part("output", "output tokens", "Tokens", "1M Tokens", _MTOK),
    # Explicit caches are billed per million tokens held per hour.
    "storage": Part(
        "cache-storage", "explicit cache storage", "MTok-hours", "1M Token-hours", Decimal(1)
    ),
    "tool_fees": Part("tool-fees", "server-side tool calls", "Requests", "Requests", Decimal(1)),
}


@dataclass(frozen=True)
class ChargeLine:
    """One part of a provider's model's usage in a charge period, for one app, team and
    environment, in the billing currency."""

    billing_period: tuple[datetime, datetime]
    charge_period: tuple[datetime, datetime]
    tenant: str
    provider: str
    model: str
    part: str
    quantity: Decimal
    billed_cost: Decimal
    list_cost: Decimal
    currency: str
    nocache_cost: Decimal = Decimal(0)
    # Who made the model, when not the provider (the gateway or cloud that resold it, who
    # billed it: ProviderName and InvoiceIssuerName).
    publisher: str | None = None
    price_id: str | None = None
    region: str | None = None
    app: str | None = None
    team: str | None = None
    environment: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    # Requests of the line stored without a price (their cost is 0 here, not known).
    unpriced_requests: int = 0


def decimal_text(value: Decimal) -> str:
    """A decimal as FOCUS tools read one: plain digits, always a decimal point ("3" -> "3.0"),
    so a column of whole numbers is still read as decimals."""
    text = format(value.normalize(), "f") if value else "0"
    return text if "." in text else f"{text}.0"


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _unit_price(cost: Decimal, quantity: Decimal) -> str:
    return decimal_text(cost / quantity) if quantity else ""


def focus_row(line: ChargeLine) -> dict[str, str]:
    """The FOCUS cells of one charge line (empty where FOCUS allows a null)."""
    part = PARTS[line.part]
    pricing = line.quantity / part.per_pricing_unit
    # The list-price layer is the catalogue's; the contracted layer what the tenant pays
    # (a negotiated price, else the list price); no commitment discounts, so the effective
    # cost is the billed cost.
    row = dict.fromkeys(COLUMNS, "")
    tags = {
        k: v
        for k, v in {
            "app": line.app,
            "team": line.team,
            "environment": line.environment,
            **line.tags,
        }.items()
        if v
    }
    row.update(
        {
            "BilledCost": decimal_text(line.billed_cost),
            "BillingAccountId": line.tenant,
            "BillingAccountName": line.tenant,
            "BillingCurrency": line.currency,
            "BillingPeriodStart": _time(line.billing_period[0]),
            "BillingPeriodEnd": _time(line.billing_period[1]),
            "ChargeCategory": "Usage",
            "ChargeDescription": f"{line.provider} {line.model}: {part.description}",
            "ChargeFrequency": "Usage-Based",
            "ChargePeriodStart": _time(line.charge_period[0]),
            "ChargePeriodEnd": _time(line.charge_period[1]),
            "ConsumedQuantity": decimal_text(line.quantity),
            "ConsumedUnit": part.consumed_unit,
            "ContractedCost": decimal_text(line.billed_cost),
            "ContractedUnitPrice": _unit_price(line.billed_cost, pricing),
            "EffectiveCost": decimal_text(line.billed_cost),
            "InvoiceIssuerName": line.provider,
            "ListCost": decimal_text(line.list_cost),
            "ListUnitPrice": _unit_price(line.list_cost, pricing),
            "PricingCategory": "Standard",
            "PricingQuantity": decimal_text(pricing),
            "PricingUnit": part.pricing_unit,
            "ProviderName": line.provider,
            "PublisherName": line.publisher or line.provider,
            "RegionId": line.region or "",
            "RegionName": line.region or "",
            "ResourceId": line.app or "",
            "ResourceName": line.app or "",
            "ResourceType": "LLM application" if line.app else "",
            "ServiceCategory": "AI and Machine Learning",
            "ServiceName": f"{line.provider} {line.model}",
            "SkuId": f"{line.provider}/{line.model}/{part.sku}",
            "SkuPriceId": line.price_id or f"{line.provider}/{line.model}/{part.sku}",
            "SubAccountId": line.team or "",
            "SubAccountName": line.team or "",
            "Tags": json.dumps(tags, sort_keys=True),
            "ServiceSubcategory": "Generative AI",
            "x_NoCacheCost": decimal_text(line.nocache_cost),
            "x_Savings": decimal_text(line.nocache_cost - line.billed_cost),
            "x_CachePart": line.part,
            "x_Model": line.model,
            "x_Tenant": line.tenant,
            "x_UnpricedRequests": str(line.unpriced_requests),
        }
    )
    for old, new in VALIDATOR_NAMES.items():
        row[old] = row[new]
    return row


def focus_csv(lines: Iterable[ChargeLine]) -> Iterator[str]:
    """The CSV of charge lines, header first, a chunk of text per row."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for line in lines:
        writer.writerow(focus_row(line))
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    yield out.getvalue()
