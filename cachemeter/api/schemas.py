"""The bodies of the API's own routes (ingest results, keys, prices, budgets, probes); report
bodies are reports.schemas."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Rejected(BaseModel):
    """A record (or cache) that was not stored, and why, naming the field."""

    index: int
    error: str


class Conflict(BaseModel):
    """A record whose request id is stored with other usage, model or provider."""

    index: int
    error: str
    field: str


class IngestResult(BaseModel):
    """What a batch did: stored, already stored (same request id), refused."""

    accepted: int
    duplicates: int
    # Duplicate spans that completed the stored record of their call (two instrumentors).
    merged: int
    rejected: list[Rejected]
    # Request ids reused with other usage, model or provider: reported, nothing stored changed.
    conflicts: list[Conflict]
    without_request_id: int
    unpriced: int


class CachesResult(BaseModel):
    """Explicit caches stored new, updated (same name), unpriced and refused."""

    stored: int
    updated: int
    unpriced: int
    rejected: list[Rejected]


class PartialSuccess(BaseModel):
    """OTLP's partial success: GenAI spans that were refused, and the first reasons."""

    # OTLP/JSON spells its field names in camelCase.
    rejectedSpans: str
    errorMessage: str


class TraceExportResponse(BaseModel):
    """OTLP/JSON ExportTraceServiceResponse: empty when every GenAI span was stored."""

    partialSuccess: PartialSuccess | None = None


class LogsPartialSuccess(BaseModel):
    """OTLP's partial success of a logs export (never set: logs are accepted and dropped)."""

    rejectedLogRecords: str
    errorMessage: str


class LogsExportResponse(BaseModel):
    """OTLP/JSON ExportLogsServiceResponse: always empty (full success)."""

    partialSuccess: LogsPartialSuccess | None = None


class MetricsPartialSuccess(BaseModel):
    """OTLP's partial success of a metrics export (never set: metrics are accepted and
    dropped)."""

    rejectedDataPoints: str
    errorMessage: str


class MetricsExportResponse(BaseModel):
    """OTLP/JSON ExportMetricsServiceResponse: always empty (full success)."""

    partialSuccess: MetricsPartialSuccess | None = None


class KeyOut(BaseModel):
    """An API key as listed: its prefix only, never the key."""

    prefix: str
    name: str | None
    scopes: list[str]
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None


class Keys(BaseModel):
    """The tenant's keys."""

    keys: list[KeyOut]


class KeyCreated(BaseModel):
    """A new key: the only time the key itself is shown."""

    key: str
    prefix: str
    name: str | None
    scopes: list[str]


class KeyRotated(BaseModel):
    """The replacement key, and the old key with the time it expires."""

    key: str
    prefix: str
    scopes: list[str]
    old: KeyOut


class KeyRevoked(BaseModel):
    """The prefix of the key revoked."""

    revoked: str


class PriceOut(BaseModel):
    """A stored price, rates per MTok as decimal strings."""

    id: str = Field(description="opaque: names the price, tells nothing of other tenants")
    tenant: str | None
    provider: str
    model: str
    currency: str
    input_mtok: str | None
    output_mtok: str | None
    cache_read_mtok: str | None
    cache_write_mtok: str | None
    cache_write_1h_mtok: str | None
    discount_pct: str | None
    storage_mtok_hour: str | None
    tiers: list[dict[str, Any]]
    effective_from: str | None
    effective_to: str | None
    note: str | None


class Prices(BaseModel):
    """Prices that apply to the tenant."""

    prices: list[PriceOut]


class PriceStored(BaseModel):
    """The id of the price stored."""

    id: str = Field(description="opaque: names the price, tells nothing of other tenants")


class Done(BaseModel):
    """What a write did."""

    status: str = Field(description="stored or removed")


class Health(BaseModel):
    """The process is up."""

    status: str


class Ready(BaseModel):
    """Readiness: "ready", or "unavailable" with the reason."""

    status: str
    reason: str | None = None
