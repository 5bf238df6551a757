"""UsageRecord: the canonical token counts (billing.Usage) wrapped with who/when/where."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from billing.aliases import canonical_model
from billing.charge import WIDE, to_money
from billing.usage import Step, Usage
from ingest.detect import normalise_payload
from ingest.envelope import ValidRecord
from ingest.errors import PayloadError
from ingest.redact import redact

_HASHED = re.compile(r"^[0-9a-f]{64}$")
# A clock skew allowance: requests cannot come from the future, but client clocks drift.
MAX_FUTURE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One LLM request, normalised; nothing downstream knows a provider's field names."""

    usage: Usage
    provider: str
    model: str | None
    shape: str
    occurred_at: datetime
    source: str
    request_id: str | None = None
    ttft_ms: float | None = None
    latency_ms: float | None = None
    app: str | None = None
    team: str | None = None
    environment: str | None = None
    end_user: str | None = None
    prompt_cache_key: str | None = None
    prefix_hash: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    raw: Any = None
    reported_cost: Decimal | None = None
    service_tier: str | None = None
    inference_geo: str | None = None
    speed: str | None = None
    tool_requests: Mapping[str, int] = field(default_factory=dict)
    # The model as the payload or sender named it; `model` is its canonical name (what reports
    # group by), and prices are looked up by the reported one (a snapshot may be priced apart).
    reported_model: str | None = None
    # Sampling steps priced apart (advisor iterations at their own model): see Normalised.
    steps: tuple[Step, ...] = ()
    # The provider's own diagnosis of a cache miss: see Normalised.
    cache_miss_reason: str | None = None
    cache_missed_tokens: int | None = None

    @property
    def priced_as(self) -> str | None:
        """The model name a price is looked up by."""
        return self.reported_model or self.model


def token_fields(usage: Usage) -> dict[str, int]:
    """The canonical token counts by name, derived uncached count included."""
    return {
        "input_tokens": usage.input_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "cache_write_1h_tokens": usage.cache_write_1h_tokens,
        "uncached_input_tokens": usage.uncached_input_tokens,
        "output_tokens": usage.output_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
    }


def hash_end_user(tenant: str, end_user: str, key: bytes | None = None) -> str:
    """End users are stored as a tenant-scoped HMAC-SHA256 under the server's secret `key`
    (a plain hash of an e-mail address or a user id can be guessed back by hashing guesses),
    unless the sender already hashed them."""
    if _HASHED.match(end_user):
        return end_user
    message = f"{tenant}\x00{end_user}".encode()
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def to_money_scale(amount: Decimal | None) -> Decimal | None:
    """A reported amount at the stored scale (12 places), rounded as the database rounds (half
    away from zero): `1e-1100000000` is 0, where the database refuses its exponent. An amount
    too large for any column is left for the column check to refuse."""
    if amount is None or not amount.is_finite() or amount.adjusted() >= WIDE.prec - 13:
        return amount
    return to_money(amount, ROUND_HALF_UP)


def to_the_nanosecond(ms: float | None) -> float | None:
    """A duration in milliseconds kept to the nanosecond: finer is noise, and a rollup squares
    it (the TTFT fit), where 1e-200 would underflow a double in the database."""
    return None if ms is None else round(ms, 6)


def build_record(
    record: ValidRecord,
    *,
    tenant: str,
    source: str,
    received_at: datetime,
    end_user_key: bytes | None = None,
    keep_raw: bool = True,
) -> UsageRecord:
    """Normalise a validated record; `received_at` stands in for a missing `occurred_at`;
    `keep_raw`: keep the payload's usage objects and ids (redacted), else an empty object."""
    try:
        normalised = normalise_payload(record.payload, record.provider, record.model)
    except PayloadError as exc:
        if record.usage is None:
            raise exc.within("response") from None
        # Normalisers already name a bare usage object "usage".
        raise (exc if exc.field.startswith("usage") else exc.within("usage")) from None
    occurred_at = record.occurred_at or received_at
    if occurred_at > received_at + MAX_FUTURE:
        raise PayloadError("occurred_at", f"{occurred_at.isoformat()} is in the future")
    provider = normalised.provider or "unknown"
    return UsageRecord(
        usage=normalised.usage,
        provider=provider,
        model=canonical_model(provider, normalised.model) if normalised.model else None,
        reported_model=normalised.model,
        shape=normalised.shape,
        occurred_at=occurred_at,
        source=source,
        request_id=record.request_id or normalised.response_id,
        ttft_ms=to_the_nanosecond(record.ttft_ms),
        latency_ms=to_the_nanosecond(
            record.latency_ms if record.latency_ms is not None else normalised.latency_ms
        ),
        app=record.app,
        team=record.team,
        environment=record.environment,
        end_user=hash_end_user(tenant, record.end_user, end_user_key) if record.end_user else None,
        prompt_cache_key=record.prompt_cache_key,
        prefix_hash=record.prefix_hash,
        tags=dict(record.tags),
        raw=redact(record.payload) if keep_raw else {},
        reported_cost=to_money_scale(
            record.reported_cost if record.reported_cost is not None else normalised.reported_cost
        ),
        service_tier=normalised.service_tier,
        inference_geo=normalised.inference_geo,
        speed=normalised.speed,
        steps=normalised.steps,
        tool_requests=normalised.tool_requests,
        cache_miss_reason=normalised.cache_miss_reason,
        cache_missed_tokens=normalised.cache_missed_tokens,
    )
