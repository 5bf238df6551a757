"""Pure pricing engine: token buckets, prices, charges. No database, no HTTP, no clock."""

from billing.charge import Charge, price_usage
from billing.price import Price, PriceNotFound, Rates, Tier
from billing.pricebook import CatalogueEntry, PriceBook
from billing.usage import InvalidUsage, Usage

__all__ = [
    "CatalogueEntry",
    "Charge",
    "InvalidUsage",
    "Price",
    "PriceBook",
    "PriceNotFound",
    "Rates",
    "Tier",
    "Usage",
    "price_usage",
]
