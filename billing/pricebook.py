"""PriceBook.resolve: tenant's negotiated price > cachemeter catalogue > genai-prices at time t."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from billing.aliases import canonical_provider
from billing.genai import GenaiPrices
from billing.price import Price, PriceNotFound, Rates, Tier


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """A price row of our own catalogue; `tenant` None means it applies to every tenant."""

    provider: str
    model: str
    currency: str
    rates: Rates
    tiers: tuple[Tier, ...] = ()
    tenant: str | None = None
    effective_from: datetime | None = None
    effective_to: datetime | None = None
    id: int | None = None
    note: str | None = None

    def applies_at(self, at: datetime) -> bool:
        """True when `at` lies in [effective_from, effective_to)."""
        if self.effective_from is not None and at < self.effective_from:
            return False
        return self.effective_to is None or at < self.effective_to


def _model_keys(model: str) -> tuple[str, ...]:
    """The model as reported and without a gateway's vendor prefix ("anthropic/x" -> "x")."""
    key = model.strip().lower()
    if "/" in key:
        return key, key.rsplit("/", 1)[1]
    return (key,)


class PriceBook:
    """Resolves the price for (provider, model, time, tenant) through three layers."""

    def __init__(self, entries: Iterable[CatalogueEntry] = (), *, use_genai_prices: bool = True):
        self._entries: dict[tuple[str | None, str, str], list[CatalogueEntry]] = {}
        for entry in entries:
            key = (entry.tenant, canonical_provider(entry.provider), entry.model.strip().lower())
            self._entries.setdefault(key, []).append(entry)
        for group in self._entries.values():
            # Latest start first, so the newest entry wins where intervals touch.
            group.sort(key=lambda e: (e.effective_from is not None, e.effective_from), reverse=True)
        self._genai = GenaiPrices() if use_genai_prices else None

    def _from_entries(
        self, tenant: str | None, provider: str, model: str, at: datetime
    ) -> CatalogueEntry | None:
        for model_key in _model_keys(model):
            for entry in self._entries.get((tenant, provider, model_key), ()):
                if entry.applies_at(at):
                    return entry
        return None

    def resolve(
        self, provider: str, model: str | None, at: datetime, tenant: str | None = None
    ) -> Price:
        """The price in force for this request, or PriceNotFound with the reason."""
        if not model:
            raise PriceNotFound("no model reported: send `model` with the record")
        canonical = canonical_provider(provider)
        layers: list[tuple[str, str | None]] = [("catalogue", None)]
        if tenant is not None:
            layers.insert(0, ("tenant", tenant))
        for source, layer_tenant in layers:
            entry = self._from_entries(layer_tenant, canonical, model, at)
            if entry is not None:
                return Price(
                    provider=canonical,
                    model=entry.model,
                    currency=entry.currency,
                    rates=entry.rates,
                    tiers=entry.tiers,
                    source=source,
                    source_id=entry.id,
                    ref=entry.note,
                    effective_from=entry.effective_from,
                    effective_to=entry.effective_to,
                )
        if self._genai is None:
            raise PriceNotFound(f"no catalogue price for {canonical}/{model} at {at.isoformat()}")
        return self._genai.resolve(canonical, model, at)
