"""The genai-prices layer: its dated price data turned into `Price` values."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from genai_prices import __version__ as GENAI_PRICES_VERSION
from genai_prices.data_snapshot import DataSnapshot, find_provider_by_id, get_snapshot
from genai_prices.types import (
    ModelInfo,
    ModelPrice,
    Provider,
    StartDateConstraint,
    TieredPrices,
    TimeOfDateConstraint,
)

from billing.aliases import bedrock_base
from billing.price import Price, PriceNotFound, Rates, Tier

_KEYS = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok", "cache_write_1h_mtok")

__all__ = ["GENAI_PRICES_VERSION", "GenaiPrices", "load_data", "rates_by_model"]


def load_data(raw: Any) -> DataSnapshot:
    """Price data in genai-prices' published JSON format (its data.json), validated."""
    # The same parser genai-prices' own UpdatePrices.fetch() applies to downloaded data.
    from genai_prices.types import _providers_from_raw

    return DataSnapshot(_providers_from_raw(raw), from_auto_update=True)


def rates_by_model(snapshot: DataSnapshot | None, at: datetime) -> dict[str, dict[str, str]]:
    """Every `provider/model` with per-token prices, and its base rates at `at` (tiers noted)."""
    out: dict[str, dict[str, str]] = {}
    for provider in (snapshot or get_snapshot()).providers:
        for info in provider.models:
            model_price = info.get_prices(at)
            if model_price.input_mtok is None or model_price.output_mtok is None:
                continue
            rates = _rates(model_price, None).as_dict()
            if any(isinstance(getattr(model_price, k), TieredPrices) for k in _KEYS):
                rates["tiered"] = "yes"
            out[f"{provider.id}/{info.id}"] = rates
    return out


def _at(value: Any, threshold: int | None) -> Decimal | None:
    """The rate of one price key for requests whose input exceeds `threshold` (None = base)."""
    if value is None or isinstance(value, Decimal):
        return value
    assert isinstance(value, TieredPrices)
    chosen: Decimal = value.base
    if threshold is not None:
        for tier in value.tiers:
            if tier.start <= threshold:
                chosen = tier.price
    return chosen


def _rates(model_price: ModelPrice, threshold: int | None) -> Rates:
    values = {key: _at(getattr(model_price, key), threshold) for key in _KEYS}
    write = values["cache_write_mtok"]
    if write is None:
        # genai-prices names the 5-minute write explicitly for some models.
        write = _at(getattr(model_price, "cache_write_5m_mtok", None), threshold)
    input_rate = values["input_mtok"]
    output_rate = values["output_mtok"]
    assert input_rate is not None and output_rate is not None
    return Rates.build(
        input=input_rate,
        output=output_rate,
        cache_read=values["cache_read_mtok"],
        cache_write=write,
        cache_write_1h=values["cache_write_1h_mtok"],
    )


class GenaiPrices:
    """Prices from the installed genai-prices data, resolved at the request's time."""

    def __init__(self, snapshot: DataSnapshot | None = None) -> None:
        self._snapshot = snapshot or get_snapshot()
        self._providers = self._snapshot.providers
        self._label = (
            "genai-prices data file" if snapshot else f"genai-prices {GENAI_PRICES_VERSION}"
        )
        self._converted: dict[tuple[str, str, int], Price] = {}

    def models(self) -> dict[str, list[str]]:
        """Per provider id: the ids of the models its data lists."""
        return {
            provider.id: sorted(info.id for info in provider.models)
            for provider in self._providers
            if provider.models
        }

    def _find(self, provider: str, model: str) -> tuple[Provider, ModelInfo]:
        snapshot = self._snapshot
        try:
            return snapshot.find_provider_model(model, None, provider, None)
        except LookupError:
            pass
        if provider == "aws":
            found = self._find_bedrock(model)
            if found is not None:
                return found
        # Gateways and clients often prefix the vendor: "anthropic/claude-opus-4.5".
        if "/" in model:
            vendor, _, rest = model.partition("/")
            vendor_provider = find_provider_by_id(self._providers, vendor)
            if vendor_provider is not None:
                try:
                    return snapshot.find_provider_model(rest, vendor_provider, None, None)
                except LookupError:
                    pass
        raise PriceNotFound(f"{self._label} has no model {model!r} for provider {provider!r}")

    def _find_bedrock(self, model: str) -> tuple[Provider, ModelInfo] | None:
        """Bedrock ids without date or version: match the listed id with the same base,
        else the vendor's own list price."""
        scope, base = bedrock_base(model)
        aws = find_provider_by_id(self._providers, "aws")
        if aws is not None:
            candidates = [m for m in aws.models if bedrock_base(m.id)[1] == base]
            same_scope = [m for m in candidates if bedrock_base(m.id)[0] == scope]
            for match in same_scope or candidates:
                return aws, match
        vendor, _, rest = base.partition(".")
        vendor_provider = find_provider_by_id(self._providers, vendor)
        if vendor_provider is not None and rest:
            found = vendor_provider.find_model(rest, all_providers=self._providers)
            if found is not None:
                return vendor_provider, found
        return None

    def changes_within(self, provider: str, model: str, start: datetime, end: datetime) -> bool:
        """Whether the model's genai-prices price can change at an instant inside (start, end):
        a dated price starting (at midnight UTC) or a time-of-day price (off-peak) switching."""
        try:
            _, info = self._find(provider, model)
        except PriceNotFound:
            return False
        if isinstance(info.prices, ModelPrice):
            return False
        for conditional in info.prices:
            constraint = conditional.constraint
            if isinstance(constraint, StartDateConstraint):
                moments = [datetime.combine(constraint.start_date, time(0), UTC)]
            elif isinstance(constraint, TimeOfDateConstraint):
                days = range((end.date() - start.date()).days + 2)
                first = start.astimezone(UTC).date() - timedelta(days=1)
                moments = [
                    datetime.combine(first + timedelta(days=d), _utc(t))
                    for d in days
                    for t in (constraint.start_time, constraint.end_time)
                ]
            else:
                continue
            if any(start < moment < end for moment in moments):
                return True
        return False

    def resolve(self, provider: str, model: str, at: datetime) -> Price:
        """The genai-prices price of `model` at `at`, or PriceNotFound."""
        found_provider, info = self._find(provider, model)
        model_price = info.get_prices(at)
        # get_prices returns the same ModelPrice object for the same period: convert once.
        key = (found_provider.id, info.id, id(model_price))
        cached = self._converted.get(key)
        if cached is not None:
            return cached
        if model_price.input_mtok is None or model_price.output_mtok is None:
            raise PriceNotFound(
                "genai-prices has no per-token input/output price for"
                f" {found_provider.id}/{info.id}"
            )
        thresholds = sorted(
            {
                tier.start
                for key_name in _KEYS
                if isinstance(value := getattr(model_price, key_name), TieredPrices)
                for tier in value.tiers
            }
        )
        requests = _at(getattr(model_price, "requests_kcount", None), None)
        price = Price(
            provider=found_provider.id,
            model=info.id,
            currency="USD",
            rates=_rates(model_price, None),
            tiers=tuple(Tier(above=t, rates=_rates(model_price, t)) for t in thresholds),
            source="genai-prices",
            ref=f"{self._label}: {found_provider.id}/{info.id}",
            unit_fees=_unit_fees(model_price),
            request_fee=None if requests is None else requests / _PER_K,
        )
        self._converted[key] = price
        return price


_PER_K = Decimal(1000)
# genai-prices' price keys for what is billed beside the tokens -> (our quantity, units per key).
_UNIT_KEYS = (
    ("web_searches_kcount", "web_search", _PER_K),
    ("storage_searches_kcount", "file_search", _PER_K),
    ("output_citation_mtok", "citation_tokens", Decimal(1_000_000)),
)


def _unit_fees(model_price: ModelPrice) -> tuple[tuple[str, Decimal], ...]:
    fees = []
    for key, name, per in _UNIT_KEYS:
        value = _at(getattr(model_price, key, None), None)
        if value is not None:
            fees.append((name, value / per))
    return tuple(fees)


def _utc(moment: time) -> time:
    """A time of day in UTC; genai-prices reads a naive time as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return datetime.combine(date(1970, 1, 1), moment).astimezone(UTC).timetz()
