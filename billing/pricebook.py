"""PriceBook.resolve: tenant's negotiated price > cachemeter catalogue > genai-prices at time t."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from genai_prices.data_snapshot import DataSnapshot

from billing.aliases import canonical_provider
from billing.charge import money_text
from billing.genai import GenaiPrices
from billing.price import Price, PriceNotFound, Rates, Tier
from billing.storage import published_storage_rate

ANY_MODEL = "*"


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """A price row of our own catalogue; `tenant` None means it applies to every tenant.

    Either `rates` (explicit per-MTok prices) or `discount_pct` (a percentage off the price the
    layers below give; negative for a markup). `model` "*" covers every model of the provider.
    """

    provider: str
    model: str
    currency: str
    rates: Rates | None
    tiers: tuple[Tier, ...] = ()
    tenant: str | None = None
    effective_from: datetime | None = None
    effective_to: datetime | None = None
    id: int | None = None
    note: str | None = None
    discount_pct: Decimal | None = None
    storage_mtok_hour: Decimal | None = None

    def applies_at(self, at: datetime) -> bool:
        """True when `at` lies in [effective_from, effective_to)."""
        if self.effective_from is not None and at < self.effective_from:
            return False
        return self.effective_to is None or at < self.effective_to


def _model_keys(model: str) -> tuple[str, ...]:
    """The model as reported, without a gateway's vendor prefix, then the provider wildcard."""
    key = model.strip().lower()
    if "/" in key:
        return key, key.rsplit("/", 1)[1], ANY_MODEL
    return key, ANY_MODEL


_canonical = lru_cache(maxsize=4096)(canonical_provider)


class PriceBook:
    """Resolves the price for (provider, model, time, tenant) through three layers."""

    def __init__(
        self,
        entries: Iterable[CatalogueEntry] = (),
        *,
        use_genai_prices: bool = True,
        genai_data: DataSnapshot | None = None,
    ):
        self._entries: dict[tuple[str | None, str, str], list[CatalogueEntry]] = {}
        for entry in entries:
            key = (entry.tenant, _canonical(entry.provider), entry.model.strip().lower())
            self._entries.setdefault(key, []).append(entry)
        for group in self._entries.values():
            # Latest start first, so the newest entry wins where intervals touch.
            group.sort(key=lambda e: (e.effective_from is not None, e.effective_from), reverse=True)
        self._genai = GenaiPrices(genai_data) if use_genai_prices else None

    def models(self, tenant: str | None = None) -> dict[str, list[str]]:
        """Per provider: the models a price is known for, from genai-prices and the stored
        catalogue (the tenant's negotiated entries too; a "*" discount names no model)."""
        known = {p: set(ms) for p, ms in (self._genai.models() if self._genai else {}).items()}
        for entry_tenant, provider, model in self._entries:
            if entry_tenant in (None, tenant) and model != "*":
                known.setdefault(provider, set()).add(model)
        return {provider: sorted(known[provider]) for provider in sorted(known)}

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
        canonical = _canonical(provider)
        if tenant is not None:
            entry = self._from_entries(tenant, canonical, model, at)
            if entry is not None:
                return self._apply(entry, "tenant", canonical, model, at, below_tenant=True)
        entry = self._from_entries(None, canonical, model, at)
        if entry is not None:
            return self._apply(entry, "catalogue", canonical, model, at, below_tenant=False)
        return self._list_price(canonical, model, at)

    def stable(
        self,
        provider: str,
        model: str | None,
        start: datetime,
        end: datetime,
        tenant: str | None = None,
    ) -> bool:
        """Whether `resolve` gives one answer for every instant of [start, end): no catalogue
        entry starts or ends inside it and no genai-prices price switches inside it."""
        if not model:
            return True
        canonical = _canonical(provider)
        for layer in (tenant, None) if tenant is not None else (None,):
            for model_key in _model_keys(model):
                for entry in self._entries.get((layer, canonical, model_key), ()):
                    for moment in (entry.effective_from, entry.effective_to):
                        if moment is not None and start < moment < end:
                            return False
        return self._genai is None or not self._genai.changes_within(canonical, model, start, end)

    def trace(
        self, provider: str, model: str, at: datetime, tenant: str | None = None
    ) -> list[str]:
        """Why each layer did or did not supply the price, top layer first."""
        canonical = _canonical(provider)
        lines = []
        layers = [("tenant " + tenant, tenant)] if tenant else []
        for label, layer_tenant in [*layers, ("catalogue", None)]:
            keys = [(layer_tenant, canonical, k) for k in _model_keys(model)]
            entries = [e for key in keys for e in self._entries.get(key, ())]
            chosen = self._from_entries(layer_tenant, canonical, model, at)
            if chosen is not None:
                what = (
                    f"{money_text(chosen.discount_pct)}% off the list price"
                    if chosen.discount_pct is not None
                    else "explicit rates"
                )
                lines.append(
                    f"{label}: entry #{chosen.id} for {chosen.model!r} ({what}) is in force"
                )
                return lines
            if entries:
                spans = ", ".join(
                    f"#{e.id} [{e.effective_from or '-inf'}, {e.effective_to or '+inf'})"
                    for e in entries
                )
                lines.append(
                    f"{label}: {len(entries)} entries, none in force at {at.isoformat()}: {spans}"
                )
            else:
                lines.append(f"{label}: no entry for {canonical}/{model}")
        try:
            price = self._list_price(canonical, model, at)
            lines.append(f"list price: {price.ref}")
        except PriceNotFound as exc:
            lines.append(f"list price: {exc.reason}")
        return lines

    def _list_price(self, provider: str, model: str, at: datetime) -> Price:
        if self._genai is None:
            raise PriceNotFound(f"no catalogue price for {provider}/{model} at {at.isoformat()}")
        price = self._genai.resolve(provider, model, at)
        storage = published_storage_rate(price.provider, price.model)
        return replace(price, storage_mtok_hour=storage) if storage is not None else price

    def _apply(
        self,
        entry: CatalogueEntry,
        source: str,
        provider: str,
        model: str,
        at: datetime,
        *,
        below_tenant: bool,
    ) -> Price:
        if entry.discount_pct is None:
            assert entry.rates is not None
            return Price(
                provider=provider,
                model=entry.model if entry.model != ANY_MODEL else model,
                currency=entry.currency,
                rates=entry.rates,
                tiers=entry.tiers,
                source=source,
                source_id=entry.id,
                ref=entry.note,
                effective_from=entry.effective_from,
                effective_to=entry.effective_to,
                storage_mtok_hour=entry.storage_mtok_hour,
            )
        # A negotiated percentage applies to the list price the lower layers give.
        if below_tenant:
            base_entry = self._from_entries(None, provider, model, at)
            base = (
                self._apply(base_entry, "catalogue", provider, model, at, below_tenant=False)
                if base_entry is not None
                else self._list_price(provider, model, at)
            )
        else:
            base = self._list_price(provider, model, at)
        factor = (100 - entry.discount_pct) / 100
        storage = base.storage_mtok_hour
        return replace(
            base,
            rates=base.rates.scaled(factor),
            tiers=tuple(Tier(t.above, t.rates.scaled(factor)) for t in base.tiers),
            source=source,
            source_id=entry.id,
            ref=f"{money_text(entry.discount_pct)}% off {base.source} ({base.ref or base.model})",
            effective_from=entry.effective_from,
            effective_to=entry.effective_to,
            storage_mtok_hour=storage * factor if storage is not None else None,
        )
