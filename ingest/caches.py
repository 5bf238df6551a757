"""Explicit caches (Gemini `cachedContents`): storage billed per MTok-hour over their life.

A cache is sent as explicit fields or as the provider's own object (`cache`), e.g.
`{"name": "cachedContents/abc", "model": "models/gemini-2.5-pro", "createTime": …,
"expireTime": …, "usageMetadata": {"totalTokenCount": 100000}}` (or the Python SDK's
snake_case `model_dump()`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from billing import PriceBook, PriceNotFound
from billing.aliases import canonical_provider
from billing.charge import storage_cost
from billing.moments import Moment, OutOfRange, in_utc
from billing.text import NoNul
from billing.usage import MAX_TOKENS
from ingest.envelope import Dimension
from ingest.errors import PayloadError
from ingest.fields import count, dig, text
from ingest.redact import redact

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256), NoNul]
MAX_LIFETIME = timedelta(days=366)


class CacheIn(BaseModel):
    """One explicit cache: who created it, how many tokens, from when until when."""

    model_config = ConfigDict(extra="forbid")

    provider: Dimension = "google"
    model: Name | None = None
    name: Name | None = None
    token_count: Annotated[int, Field(ge=0, le=MAX_TOKENS)] | None = None
    created_at: Moment | None = None
    expires_at: Moment | None = None
    ttl_seconds: Annotated[int, Field(gt=0, le=int(MAX_LIFETIME.total_seconds()))] | None = None
    app: Dimension | None = None
    team: Dimension | None = None
    environment: Dimension | None = None
    cache: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_end(self) -> CacheIn:
        if self.expires_at is not None and self.ttl_seconds is not None:
            raise ValueError("give expires_at or ttl_seconds, not both")
        return self


@dataclass(frozen=True, slots=True)
class CacheRecord:
    """A normalised, priced explicit cache."""

    provider: str
    model: str
    name: str
    token_count: int
    created_at: datetime
    expires_at: datetime
    app: str | None
    team: str | None
    environment: str | None
    currency: str | None
    storage_mtok_hour: Decimal | None
    cost_storage: Decimal | None
    price_source: str | None
    price_id: int | None
    unpriced_reason: str | None
    raw: Any


def _time(value: Any, field: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise PayloadError(field, f"not an ISO 8601 time: {value!r}") from None
    else:
        raise PayloadError(field, f"must be an ISO 8601 time, got {value!r}")
    try:
        return in_utc(moment)
    except OutOfRange as exc:
        raise PayloadError(field, str(exc)) from None


def build_cache(
    cache_in: CacheIn, book: PriceBook, tenant: str, received_at: datetime
) -> CacheRecord:
    """Normalise and price one cache; storage = tokens x hours alive x rate per MTok-hour."""
    obj = cache_in.cache or {}
    model = cache_in.model or text(obj, ("model",))
    name = cache_in.name or text(obj, ("name",))
    tokens = cache_in.token_count
    if tokens is None:
        tokens = count(
            obj, ("usageMetadata", "totalTokenCount"), "cache.usageMetadata.totalTokenCount"
        )
    if tokens is None:
        tokens = count(
            obj, ("usage_metadata", "total_token_count"), "cache.usage_metadata.total_token_count"
        )
    created = cache_in.created_at or _time(
        dig(obj, ("createTime",)) or dig(obj, ("create_time",)), "cache.createTime"
    )
    expires = cache_in.expires_at or _time(
        dig(obj, ("expireTime",)) or dig(obj, ("expire_time",)), "cache.expireTime"
    )
    if model is None:
        raise PayloadError("model", "missing: the cache's model is needed to price its storage")
    if name is None:
        raise PayloadError("name", "missing: the cache's name identifies it")
    if tokens is None:
        raise PayloadError(
            "token_count", "missing: give token_count or cache.usageMetadata.totalTokenCount"
        )
    created = _time(created, "created_at") or received_at
    if cache_in.ttl_seconds is not None:
        expires = created + timedelta(seconds=cache_in.ttl_seconds)
    expires = _time(expires, "expires_at")
    if expires is None:
        raise PayloadError(
            "expires_at", "missing: give expires_at, ttl_seconds or cache.expireTime"
        )
    if not created < expires <= created + MAX_LIFETIME:
        raise PayloadError("expires_at", "must be after created_at and at most a year later")
    model = model.removeprefix("models/")
    provider = canonical_provider(cache_in.provider)
    identity: dict[str, Any] = {
        "provider": provider,
        "model": model,
        "name": name,
        "token_count": tokens,
        "created_at": created,
        "expires_at": expires,
        "app": cache_in.app,
        "team": cache_in.team,
        "environment": cache_in.environment,
        "raw": redact(obj),
    }
    try:
        price = book.resolve(provider, model, created, tenant)
        rate = price.storage_mtok_hour
        if rate is None:
            raise PriceNotFound(f"no storage price (per MTok-hour) for {provider}/{model}")
    except PriceNotFound as exc:
        return CacheRecord(
            **identity,
            currency=None,
            storage_mtok_hour=None,
            cost_storage=None,
            price_source=None,
            price_id=None,
            unpriced_reason=exc.reason,
        )
    return CacheRecord(
        **identity,
        currency=price.currency,
        storage_mtok_hour=rate,
        cost_storage=storage_cost(tokens, int((expires - created).total_seconds()), rate),
        price_source=price.source,
        price_id=price.source_id,
        unpriced_reason=None,
    )
