"""One typed Settings object from CACHEMETER_* variables and DATABASE_URL, and the database
they name."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from reports.advice import AdviceSettings
from store.embedded import embedded_url, start_embedded, to_sqlalchemy_url


class Settings(BaseSettings):
    """Runtime configuration; see README "Configuration" for each variable."""

    model_config = SettingsConfigDict(env_prefix="CACHEMETER_", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "CACHEMETER_DATABASE_URL")
    )
    data_dir: Path = Field(default_factory=lambda: platformdirs.user_data_path("cachemeter"))
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_batch: int = Field(default=1000, ge=1, le=100_000)
    # Larger request bodies are refused with 413 before they are read in full.
    max_body_bytes: int = Field(default=16 * 2**20, ge=1024, le=2**30)
    # Browser origins allowed to call the API (CORS); none by default.
    cors_origins: list[str] = Field(default_factory=list)
    # When set, /metrics answers only to "Authorization: Bearer <token>" (never to API keys).
    metrics_token: str | None = None
    # `cachemeter serve` refuses to expose /metrics without a token unless this says so.
    metrics_public: bool = False
    # On SIGTERM: stop accepting, finish in-flight requests and flush queues within this.
    shutdown_timeout_seconds: float = Field(default=20, gt=0, le=600)
    default_tenant: str = "default"
    demo_tenant: str = "default"
    log_level: str = "info"
    # /metrics label bounds: at most this many values per label, or an allow-list per label
    # ({"app": ["search", "chat"]}); other values are exported as "other".
    metrics_label_cap: int = Field(default=50, ge=1, le=10_000)
    metrics_allow: dict[str, list[str]] = Field(default_factory=dict)
    # Regression detection: how often to check (0 = never in this process), thresholds.
    regression_interval_seconds: float = Field(default=60, ge=0)
    regression_window_minutes: int = Field(default=120, ge=5, le=24 * 60)
    regression_baseline_hours: int = Field(default=24, ge=1, le=24 * 30)
    regression_min_requests: int = Field(default=10, ge=5)
    regression_min_drop: float = Field(default=0.1, gt=0, lt=1)
    # Data lifecycle (None keeps forever): event partitions, their idempotency keys and rollup
    # rows older than this many whole months before the current one are dropped, and records
    # older than that are refused; raw payloads are emptied after retention_raw_days.
    retention_months: int | None = Field(default=None, ge=0, le=1200)
    retention_raw_days: int | None = Field(default=None, ge=0)
    # What of a payload each event keeps: its usage objects and ids ("usage", redacted of any
    # text), or nothing ("off": nothing to redact, check or parse into JSONB per event).
    raw_payloads: Literal["usage", "off"] = "usage"
    partitions_ahead: int = Field(default=2, ge=0, le=24)
    retention_interval_hours: float = Field(default=6, ge=0)
    # Called with a JSON body (Slack-compatible "text") when a regression opens or closes.
    webhook_url: str | None = None
    # Signs dashboard session cookies; set it (same value on every replica) in production.
    secret_key: str | None = None
    # Dashboard sessions end after this long without a request, and this long after sign-in
    # whatever the use (besides at sign-out, or when their key is revoked or expires).
    session_idle_hours: float = Field(default=12, gt=0, le=24 * 366)
    session_lifetime_days: float = Field(default=7, gt=0, le=366)
    # The session cookie is Secure whenever the request came over HTTPS; this makes it Secure
    # always (TLS ends at a proxy whose X-Forwarded-Proto the server is not told to trust).
    session_cookie_secure: bool = False
    # The cache advisor shows a finding once it would save this much a month (in its price's
    # currency) and rests on this many requests.
    advice_min_saving: Decimal = Field(default=Decimal(1), ge=0, le=10**9, allow_inf_nan=False)
    advice_min_requests: int = Field(default=20, ge=1, le=10**9)


def advice_settings(
    settings: Settings, min_saving: Decimal | None = None, min_requests: int | None = None
) -> AdviceSettings:
    """When the advisor shows a finding: the settings', or a request's own thresholds."""
    return AdviceSettings(
        min_saving=settings.advice_min_saving if min_saving is None else min_saving,
        min_requests=settings.advice_min_requests if min_requests is None else min_requests,
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()


# The embedded server's handle lives as long as the process that started or joined it.
_embedded: list[Any] = []


def database_url(settings: Settings) -> str:
    """DATABASE_URL when set, else the embedded server under the data dir (started on demand)."""
    if settings.database_url:
        return to_sqlalchemy_url(settings.database_url)
    if not _embedded:
        _embedded.append(start_embedded(settings.data_dir))
    return embedded_url(_embedded[0])
