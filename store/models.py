"""ORM models: the schema Alembic migrations build (reviewed by hand, see migrations/)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Sequence,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Money: 12 decimal places hold any per-token product of a 6-decimal per-MTok rate exactly.
Money = Numeric(24, 12)
Rate = Numeric(18, 9)
TZ = DateTime(timezone=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    # Only a SHA-256 of the key is kept; the prefix lets people tell keys apart in listings.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(TZ)


class PriceRow(Base):
    """A catalogue price (tenant_id NULL) or a tenant's negotiated price, per MTok."""

    __tablename__ = "prices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(256))
    currency: Mapped[str] = mapped_column(String(3))
    input_mtok: Mapped[Decimal] = mapped_column(Rate)
    output_mtok: Mapped[Decimal] = mapped_column(Rate)
    cache_read_mtok: Mapped[Decimal] = mapped_column(Rate)
    cache_write_mtok: Mapped[Decimal] = mapped_column(Rate)
    cache_write_1h_mtok: Mapped[Decimal] = mapped_column(Rate)
    # [{"above": 200000, "input_mtok": "2.5", ...}]: long-context tiers, rates as strings.
    tiers: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    effective_from: Mapped[datetime | None] = mapped_column(TZ)
    effective_to: Mapped[datetime | None] = mapped_column(TZ)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())

    # Serves PriceBook loading by (provider, model) and `prices list`.
    __table_args__ = (Index("ix_prices_provider_model", "provider", "model"),)


class UsageKey(Base):
    """Idempotency keys, unpartitioned so a retry with another occurred_at still collides."""

    __tablename__ = "usage_keys"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str] = mapped_column(String(256))
    event_id: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(TZ)

    __table_args__ = (PrimaryKeyConstraint("tenant_id", "source", "request_id"),)


event_id_seq = Sequence("usage_events_id_seq", metadata=Base.metadata)


class UsageEvent(Base):
    """One LLM request. Range-partitioned by month on occurred_at (see store.partitions)."""

    __tablename__ = "usage_events"

    id: Mapped[int] = mapped_column(
        BigInteger, event_id_seq, server_default=event_id_seq.next_value()
    )
    occurred_at: Mapped[datetime] = mapped_column(TZ)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    received_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    source: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str | None] = mapped_column(String(256))
    provider: Mapped[str] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(256))
    shape: Mapped[str] = mapped_column(String(64))
    input_tokens: Mapped[int] = mapped_column(BigInteger)
    cache_read_tokens: Mapped[int] = mapped_column(BigInteger)
    cache_write_tokens: Mapped[int] = mapped_column(BigInteger)
    cache_write_1h_tokens: Mapped[int] = mapped_column(BigInteger)
    uncached_input_tokens: Mapped[int] = mapped_column(BigInteger)
    output_tokens: Mapped[int] = mapped_column(BigInteger)
    reasoning_tokens: Mapped[int] = mapped_column(BigInteger)
    ttft_ms: Mapped[float | None]
    latency_ms: Mapped[float | None]
    app: Mapped[str | None] = mapped_column(String(128))
    team: Mapped[str | None] = mapped_column(String(128))
    environment: Mapped[str | None] = mapped_column(String(128))
    end_user: Mapped[str | None] = mapped_column(String(64))
    prompt_cache_key: Mapped[str | None] = mapped_column(String(256))
    prefix_hash: Mapped[str | None] = mapped_column(String(128))
    tags: Mapped[dict[str, str]] = mapped_column(JSONB, server_default="{}")
    raw: Mapped[Any] = mapped_column(JSONB)
    currency: Mapped[str | None] = mapped_column(String(3))
    cost_uncached_input: Mapped[Decimal | None] = mapped_column(Money)
    cost_cache_read: Mapped[Decimal | None] = mapped_column(Money)
    cost_cache_write_5m: Mapped[Decimal | None] = mapped_column(Money)
    cost_cache_write_1h: Mapped[Decimal | None] = mapped_column(Money)
    cost_output: Mapped[Decimal | None] = mapped_column(Money)
    cost: Mapped[Decimal | None] = mapped_column(Money)
    nocache_cost: Mapped[Decimal | None] = mapped_column(Money)
    savings: Mapped[Decimal | None] = mapped_column(Money)
    reported_cost: Mapped[Decimal | None] = mapped_column(Money)
    # Which price was used: its layer, its catalogue row (if any) and a readable reference.
    price_source: Mapped[str | None] = mapped_column(String(32))
    price_id: Mapped[int | None] = mapped_column(Integer)
    price_ref: Mapped[str | None] = mapped_column(Text)
    priced_model: Mapped[str | None] = mapped_column(String(256))
    unpriced_reason: Mapped[str | None] = mapped_column(Text)
    miss_hint: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        PrimaryKeyConstraint("id", "occurred_at"),
        # Serves every report: tenant-scoped time ranges.
        Index("ix_usage_events_tenant_occurred", "tenant_id", "occurred_at"),
        {"postgresql_partition_by": "RANGE (occurred_at)"},
    )
