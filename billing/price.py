"""A price: per-MTok rates for each cache dimension, long-context tiers, and where it came from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


class PriceNotFound(LookupError):
    """No layer of the price book has a price for this request; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Rates:
    """Per-million-token rates. A provider with no write premium has `cache_write == input`."""

    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal
    cache_write_1h: Decimal

    @classmethod
    def build(
        cls,
        *,
        input: Decimal,
        output: Decimal,
        cache_read: Decimal | None = None,
        cache_write: Decimal | None = None,
        cache_write_1h: Decimal | None = None,
    ) -> Rates:
        """Rates with the documented defaults: absent read or write price = input price,
        absent 1-hour write price = the (5-minute) write price."""
        write = input if cache_write is None else cache_write
        return cls(
            input=input,
            output=output,
            cache_read=input if cache_read is None else cache_read,
            cache_write=write,
            cache_write_1h=write if cache_write_1h is None else cache_write_1h,
        )

    def scaled(self, factor: Decimal) -> Rates:
        """Every rate multiplied by `factor` (a negotiated discount or a markup)."""
        return Rates(
            input=self.input * factor,
            output=self.output * factor,
            cache_read=self.cache_read * factor,
            cache_write=self.cache_write * factor,
            cache_write_1h=self.cache_write_1h * factor,
        )

    def as_dict(self) -> dict[str, str]:
        """Rates as decimal strings keyed `<dimension>_mtok`."""
        return {
            "input_mtok": str(self.input),
            "output_mtok": str(self.output),
            "cache_read_mtok": str(self.cache_read),
            "cache_write_mtok": str(self.cache_write),
            "cache_write_1h_mtok": str(self.cache_write_1h),
        }


@dataclass(frozen=True, slots=True)
class Tier:
    """Rates for the whole request once its total input exceeds `above` tokens."""

    above: int
    rates: Rates


@dataclass(frozen=True, slots=True)
class Price:
    """The price that applies to one request, with its provenance.

    `source` is the layer that won (`tenant`, `catalogue` or `genai-prices`); `source_id` is
    the catalogue row id where there is one; `ref` names the genai-prices model or entry.
    """

    provider: str
    model: str
    currency: str
    rates: Rates
    source: str
    tiers: tuple[Tier, ...] = ()
    source_id: int | None = None
    ref: str | None = None
    effective_from: datetime | None = None
    effective_to: datetime | None = None
    # Explicit-cache storage per million tokens per hour, where the provider bills it.
    storage_mtok_hour: Decimal | None = None
    # Fees per unit of what is billed beside the tokens, by name (`web_search`: per search,
    # `citation_tokens`: per token), and a fee every request pays (Perplexity Sonar), in
    # `currency`, where the price's source lists them.
    unit_fees: tuple[tuple[str, Decimal], ...] = ()
    request_fee: Decimal | None = None

    def rates_for(self, input_tokens: int) -> Rates:
        """Rates of the highest tier whose threshold the request's total input exceeds."""
        chosen = self.rates
        for tier in sorted(self.tiers, key=lambda t: t.above):
            if input_tokens > tier.above:
                chosen = tier.rates
        return chosen
