"""Catalogue entries as users write them (JSON files, CLI flags), validated at the edge."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from billing.moments import Moment
from billing.price import Rates, Tier
from billing.pricebook import CatalogueEntry
from billing.text import NoNul

Rate = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=9, allow_inf_nan=False)]
# Percent off the list price (negative: a markup).
DiscountPct = Annotated[Decimal, Field(gt=-1000, lt=100, decimal_places=4, allow_inf_nan=False)]


class TierSpec(BaseModel):
    """Rates for requests whose total input exceeds `above` tokens."""

    model_config = ConfigDict(extra="forbid")

    above: int = Field(gt=0)
    input_mtok: Rate
    output_mtok: Rate
    cache_read_mtok: Rate | None = None
    cache_write_mtok: Rate | None = None
    cache_write_1h_mtok: Rate | None = None


class PriceSpec(BaseModel):
    """One catalogue price, per million tokens. Absent read or write price = input price.

    A negotiated price gives either explicit rates or `discount_pct` off the list price
    (negative for a markup); `model` "*" applies to every model of the provider.
    """

    model_config = ConfigDict(extra="forbid")

    provider: Annotated[str, Field(min_length=1, max_length=64), NoNul]
    model: Annotated[str, Field(min_length=1, max_length=256), NoNul]
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    input_mtok: Rate | None = None
    output_mtok: Rate | None = None
    cache_read_mtok: Rate | None = None
    cache_write_mtok: Rate | None = None
    cache_write_1h_mtok: Rate | None = None
    discount_pct: DiscountPct | None = None
    storage_mtok_hour: Rate | None = None
    tiers: list[TierSpec] = Field(default_factory=list, max_length=8)
    # A time without a zone in a price file means UTC, like every time in cachemeter.
    effective_from: Moment | None = None
    effective_to: Moment | None = None
    tenant: Annotated[str, Field(max_length=128), NoNul] | None = None
    note: Annotated[str, Field(max_length=500), NoNul] | None = None

    @field_validator("effective_to")
    @classmethod
    def _after_from(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("effective_from")
        if value is not None and start is not None and value <= start:
            raise ValueError("must be after effective_from")
        return value

    @model_validator(mode="after")
    def _rates_or_discount(self) -> PriceSpec:
        explicit = self.input_mtok is not None or self.output_mtok is not None
        if self.discount_pct is not None:
            if (
                explicit
                or self.cache_read_mtok is not None
                or self.cache_write_mtok is not None
                or self.tiers
            ):
                raise ValueError("give either rates or discount_pct, not both")
        elif self.input_mtok is None or self.output_mtok is None:
            raise ValueError("input_mtok and output_mtok are required (or give discount_pct)")
        return self

    def rates(self) -> Rates | None:
        """The base rates with the documented defaults applied (None for a discount)."""
        if self.input_mtok is None or self.output_mtok is None:
            return None
        return Rates.build(
            input=self.input_mtok,
            output=self.output_mtok,
            cache_read=self.cache_read_mtok,
            cache_write=self.cache_write_mtok,
            cache_write_1h=self.cache_write_1h_mtok,
        )

    def tier_values(self) -> tuple[Tier, ...]:
        """Long-context tiers as billing values."""
        return tuple(
            Tier(
                above=t.above,
                rates=Rates.build(
                    input=t.input_mtok,
                    output=t.output_mtok,
                    cache_read=t.cache_read_mtok,
                    cache_write=t.cache_write_mtok,
                    cache_write_1h=t.cache_write_1h_mtok,
                ),
            )
            for t in self.tiers
        )

    def to_entry(self, entry_id: int | None = None) -> CatalogueEntry:
        """The catalogue entry this spec describes."""
        if self.effective_from and self.effective_to and self.effective_to <= self.effective_from:
            raise ValueError("effective_to must be after effective_from")
        return CatalogueEntry(
            provider=self.provider,
            model=self.model,
            currency=self.currency,
            rates=self.rates(),
            tiers=self.tier_values(),
            tenant=self.tenant,
            effective_from=self.effective_from,
            effective_to=self.effective_to,
            id=entry_id,
            note=self.note,
            discount_pct=self.discount_pct,
            storage_mtok_hour=self.storage_mtok_hour,
        )
