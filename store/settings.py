"""One typed Settings object from CACHEMETER_* variables and DATABASE_URL."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    default_tenant: str = "default"
    demo_tenant: str = "default"
    log_level: str = "info"
    # /metrics label bounds: at most this many values per label, or an allow-list per label
    # ({"app": ["search", "chat"]}); other values are exported as "other".
    metrics_label_cap: int = Field(default=50, ge=1, le=10_000)
    metrics_allow: dict[str, list[str]] = Field(default_factory=dict)
    # Signs dashboard session cookies; set it (same value on every replica) in production.
    secret_key: str | None = None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
