"""ORM models: the schema Alembic migrations build (reviewed by hand, see migrations/)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Sequence,
    String,
    Text,
    TextClause,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
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
# A rollup's sum of many events' Money: 10^26, which no number of events below 10^12 each can
# reach in one rollup row (Money would overflow at the 1,000th event of 10^9; migration 0021).
Total = Numeric(38, 12)
Rate = Numeric(18, 9)
TZ = DateTime(timezone=True)

# The tables every ingested batch writes carry no foreign key to tenants (migration 0020): a
# key's check is a lookup per inserted row, and their tenant always comes from an
# authenticated key. Deleting a tenant deletes their rows first (store.tenants.delete_tenant).
HOT_TABLES = (
    "usage_keys",
    "usage_events",
    "usage_hourly",
    "ttft_daily",
    "reported_hourly",
    "prefix_hourly",
    "prefix_daily",
    "prefix_state",
    "ingest_outcomes_hourly",
)


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
    # ingest, read, admin (SCOPES in store.tenants).
    scopes: Mapped[list[str]] = mapped_column(
        ARRAY(String(16)), server_default=text("ARRAY['ingest', 'read']::varchar(16)[]")
    )
    # Set when the key is rotated: it keeps working until then, so clients can switch over.
    expires_at: Mapped[datetime | None] = mapped_column(TZ)
    last_used_at: Mapped[datetime | None] = mapped_column(TZ)

    __table_args__ = (
        CheckConstraint(
            "scopes <@ ARRAY['ingest', 'read', 'admin']::varchar(16)[] AND cardinality(scopes) > 0",
            name="scopes",
        ),
    )


class PriceRow(Base):
    """A catalogue price (tenant_id NULL) or a tenant's negotiated price, per MTok."""

    __tablename__ = "prices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(256))
    currency: Mapped[str] = mapped_column(String(3))
    # Explicit rates, or (for negotiated prices) a percentage off the list price below.
    input_mtok: Mapped[Decimal | None] = mapped_column(Rate)
    output_mtok: Mapped[Decimal | None] = mapped_column(Rate)
    cache_read_mtok: Mapped[Decimal | None] = mapped_column(Rate)
    cache_write_mtok: Mapped[Decimal | None] = mapped_column(Rate)
    cache_write_1h_mtok: Mapped[Decimal | None] = mapped_column(Rate)
    discount_pct: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))
    # Explicit-cache storage (Gemini), per million tokens per hour.
    storage_mtok_hour: Mapped[Decimal | None] = mapped_column(Rate)
    # [{"above": 200000, "input_mtok": "2.5", ...}]: long-context tiers, rates as strings.
    tiers: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    effective_from: Mapped[datetime | None] = mapped_column(TZ)
    effective_to: Mapped[datetime | None] = mapped_column(TZ)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())

    __table_args__ = (
        # Serves PriceBook loading by (provider, model) and `prices list`.
        Index("ix_prices_provider_model", "provider", "model"),
        CheckConstraint(
            "(discount_pct IS NULL) = (input_mtok IS NOT NULL AND output_mtok IS NOT NULL)",
            name="rates_or_discount",
        ),
        CheckConstraint(
            "discount_pct IS NULL OR (discount_pct > -1000 AND discount_pct < 100)",
            name="discount_range",
        ),
    )


class UsageKey(Base):
    """Idempotency keys, unpartitioned so a retry with another occurred_at still collides."""

    __tablename__ = "usage_keys"

    tenant_id: Mapped[int] = mapped_column(Integer)  # no foreign key: see HOT_TABLES
    source: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str] = mapped_column(String(256))
    event_id: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(TZ)

    __table_args__ = (PrimaryKeyConstraint("tenant_id", "source", "request_id"),)


event_id_seq = Sequence("usage_events_id_seq", metadata=Base.metadata)


def _case_index_key(condition: str, then: str, otherwise: str) -> TextClause:
    """An index key `CASE WHEN condition THEN then ELSE otherwise END`, laid out as Postgres
    prints it back, so that Alembic's comparison of models and schema sees no change."""
    return text(f"(\nCASE\n    WHEN {condition} THEN {then}\n    ELSE {otherwise}\nEND)")


class UsageEvent(Base):
    """One LLM request. Range-partitioned by month on occurred_at (see store.partitions)."""

    __tablename__ = "usage_events"

    id: Mapped[int] = mapped_column(
        BigInteger, event_id_seq, server_default=event_id_seq.next_value()
    )
    occurred_at: Mapped[datetime] = mapped_column(TZ)
    tenant_id: Mapped[int] = mapped_column(Integer)  # no foreign key: see HOT_TABLES
    received_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    source: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str | None] = mapped_column(String(256))
    provider: Mapped[str] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(256))
    # The model as reported; `model` is its canonical name, what reports group by (0013).
    reported_model: Mapped[str | None] = mapped_column(String(256))
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
    # Per-request fees of server-side tools, and which tools were used how often (0012).
    cost_tool_fees: Mapped[Decimal | None] = mapped_column(Money)
    tool_requests: Mapped[dict[str, int] | None] = mapped_column(JSONB)
    cost: Mapped[Decimal | None] = mapped_column(Money)
    nocache_cost: Mapped[Decimal | None] = mapped_column(Money)
    savings: Mapped[Decimal | None] = mapped_column(Money)
    reported_cost: Mapped[Decimal | None] = mapped_column(Money)
    # Cache writes' cost above the same tokens at the input rate (0 where writes cost input).
    cost_write_premium: Mapped[Decimal | None] = mapped_column(Money)
    # Which price was used: its layer, its catalogue row (if any) and a readable reference.
    price_source: Mapped[str | None] = mapped_column(String(32))
    price_id: Mapped[int | None] = mapped_column(Integer)
    price_ref: Mapped[str | None] = mapped_column(Text)
    priced_model: Mapped[str | None] = mapped_column(String(256))
    unpriced_reason: Mapped[str | None] = mapped_column(Text)
    miss_hint: Mapped[str | None] = mapped_column(String(64))
    # The service tier the provider served it at (batch, flex, priority…) and where inference
    # ran (Anthropic inference_geo): both change the price, so re-pricing needs them (0011).
    service_tier: Mapped[str | None] = mapped_column(String(32))
    inference_geo: Mapped[str | None] = mapped_column(String(32))
    # Anthropic fast mode bills premium rates (0013).
    speed: Mapped[str | None] = mapped_column(String(32))
    # The provider's own diagnosis of a cache miss (Anthropic cache diagnostics, OpenAI
    # prompt_cache_diagnostics): the reason it names and the input tokens it says were missed.
    provider_miss_reason: Mapped[str | None] = mapped_column(String(64))
    provider_missed_tokens: Mapped[int | None] = mapped_column(BigInteger)
    # The sampling steps a request's counts sum, each with its model and counts, where the
    # payload lists them (advisor iterations are priced at their own model): re-pricing
    # needs them (0013).
    steps: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)

    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "id", "occurred_at"),
        # Serves every report: tenant-scoped time ranges.
        Index("ix_usage_events_tenant_occurred", "tenant_id", "occurred_at"),
        # A request's neighbours of the same prefix: its previous request decides the
        # 1-hour what-if (store.whatif).
        Index(
            "ix_usage_events_prefix_time",
            "tenant_id",
            # app and model may be NULL; '' never occurs (both are at least one character).
            # CASE, not COALESCE: row-level security lets only non-leaky expressions be
            # index conditions, and Postgres counts COALESCE as leaky (migration 0010).
            _case_index_key("app IS NULL", "''", "app"),
            _case_index_key("prefix_hash IS NULL", "prompt_cache_key", "prefix_hash"),
            "provider",
            _case_index_key("model IS NULL", "''", "model"),
            "occurred_at",
            "id",
            postgresql_where=text("(prefix_hash IS NOT NULL) OR (prompt_cache_key IS NOT NULL)"),
        ),
        {"postgresql_partition_by": "RANGE (occurred_at)"},
    )


class FxRate(Base):
    """1 unit of from_currency = rate units of to_currency, from effective_from on."""

    __tablename__ = "fx_rates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_currency: Mapped[str] = mapped_column(String(3))
    to_currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(Numeric(24, 12))
    effective_from: Mapped[datetime] = mapped_column(TZ)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())

    __table_args__ = (
        # Serves the rate lookup: latest effective_from <= t for a pair.
        UniqueConstraint("from_currency", "to_currency", "effective_from"),
        CheckConstraint("rate > 0", name="positive"),
    )


class RepriceRun(Base):
    """The audit trail of `cachemeter reprice`: who, when, why, what changed."""

    __tablename__ = "reprice_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    ran_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    range_start: Mapped[datetime] = mapped_column(TZ)
    range_end: Mapped[datetime] = mapped_column(TZ)
    provider: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(256))
    dry_run: Mapped[bool] = mapped_column(Boolean)
    events_seen: Mapped[int] = mapped_column(Integer)
    events_changed: Mapped[int] = mapped_column(Integer)
    # {"USD": {"before": "1.23", "after": "1.20"}, ...}
    totals: Mapped[dict[str, Any]] = mapped_column(JSONB)


class CacheObject(Base):
    """An explicit cache (Gemini cachedContents): storage billed per MTok-hour over its life."""

    __tablename__ = "cache_objects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    provider: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(256))
    name: Mapped[str] = mapped_column(String(256))
    token_count: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(TZ)
    expires_at: Mapped[datetime] = mapped_column(TZ)
    app: Mapped[str | None] = mapped_column(String(128))
    team: Mapped[str | None] = mapped_column(String(128))
    environment: Mapped[str | None] = mapped_column(String(128))
    currency: Mapped[str | None] = mapped_column(String(3))
    storage_mtok_hour: Mapped[Decimal | None] = mapped_column(Rate)
    cost_storage: Mapped[Decimal | None] = mapped_column(Money)
    price_source: Mapped[str | None] = mapped_column(String(32))
    price_id: Mapped[int | None] = mapped_column(Integer)
    unpriced_reason: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[Any] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())

    __table_args__ = (
        # Tenant first in every key: the distribution column if sharded (README).
        PrimaryKeyConstraint("tenant_id", "id"),
        # The idempotency key: a cache re-sent (e.g. with a longer TTL) is updated, not added.
        UniqueConstraint("tenant_id", "provider", "name"),
        # Serves statements: a tenant's caches by creation month.
        Index("ix_cache_objects_tenant_created", "tenant_id", "created_at"),
    )


class Budget(Base):
    """A monthly budget for a team or an app."""

    __tablename__ = "budgets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    scope: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(128))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    threshold_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2), server_default="80")
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())

    __table_args__ = (
        # Tenant first in every key: the distribution column if sharded (README).
        PrimaryKeyConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "scope", "name"),
        CheckConstraint("scope IN ('team', 'app')", name="scope"),
        CheckConstraint("amount > 0", name="positive"),
    )


class GenaiPriceSync(Base):
    """A `prices sync` of genai-prices data: the per-model rates seen, and the data if loaded
    from a file (then it, not the bundled package data, is the genai-prices layer)."""

    __tablename__ = "genai_price_syncs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    synced_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    source: Mapped[str] = mapped_column(Text)
    models: Mapped[dict[str, Any]] = mapped_column(JSONB)
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB)
    data: Mapped[Any | None] = mapped_column(JSONB)


# Log-spaced TTFT histogram edges (ms): 10 ms … ~60 s, ratio 1.25. Python (bisect) and SQL
# (width_bucket) place a value in the same bucket because both compare with these numbers.
TTFT_EDGES_MS: tuple[float, ...] = tuple(round(10 * 1.25**i, 3) for i in range(40))

# The dimensions every rollup, dashboard filter and metric slices requests by.
DIMENSIONS = ("provider", "model", "app", "team", "environment")
# An event's charge by part, then its totals (billing.charge.Charge as stored); the rollups
# sum the same columns.
COST_PARTS = (
    "cost_uncached_input",
    "cost_cache_read",
    "cost_cache_write_5m",
    "cost_cache_write_1h",
    "cost_output",
    "cost_tool_fees",
)
CHARGE_MONEY = (*COST_PARTS, "cost", "nocache_cost", "savings")

_ROLLUP_DIMENSIONS = ("tenant_id", "hour", *DIMENSIONS)


class RollupDimensions:
    """The dimensions every rollup is kept per (mixed into the rollup tables)."""

    provider: Mapped[str] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(256))
    app: Mapped[str | None] = mapped_column(String(128))
    team: Mapped[str | None] = mapped_column(String(128))
    environment: Mapped[str | None] = mapped_column(String(128))


class UsageHourly(RollupDimensions, Base):
    """Hourly sums of usage_events per dimension set; kept exact by ingest and reprice."""

    __tablename__ = "usage_hourly"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # see HOT_TABLES
    hour: Mapped[datetime] = mapped_column(TZ)
    currency: Mapped[str | None] = mapped_column(String(3))
    requests: Mapped[int] = mapped_column(BigInteger)
    hit_requests: Mapped[int] = mapped_column(BigInteger)
    unpriced_requests: Mapped[int] = mapped_column(BigInteger)
    input_tokens: Mapped[int] = mapped_column(BigInteger)
    cache_read_tokens: Mapped[int] = mapped_column(BigInteger)
    cache_write_tokens: Mapped[int] = mapped_column(BigInteger)
    cache_write_1h_tokens: Mapped[int] = mapped_column(BigInteger)
    uncached_input_tokens: Mapped[int] = mapped_column(BigInteger)
    output_tokens: Mapped[int] = mapped_column(BigInteger)
    cost_uncached_input: Mapped[Decimal] = mapped_column(Total)
    cost_cache_read: Mapped[Decimal] = mapped_column(Total)
    cost_cache_write_5m: Mapped[Decimal] = mapped_column(Total)
    cost_cache_write_1h: Mapped[Decimal] = mapped_column(Total)
    cost_output: Mapped[Decimal] = mapped_column(Total)
    # Server-tool fees (migration 0012).
    cost_tool_fees: Mapped[Decimal] = mapped_column(Total, server_default="0")
    cost: Mapped[Decimal] = mapped_column(Total)
    nocache_cost: Mapped[Decimal] = mapped_column(Total)
    savings: Mapped[Decimal] = mapped_column(Total)
    write_premium: Mapped[Decimal] = mapped_column(Total)
    miss_below_minimum: Mapped[int] = mapped_column(BigInteger)
    miss_first_write: Mapped[int] = mapped_column(BigInteger)
    miss_prefix_changed: Mapped[int] = mapped_column(BigInteger)
    miss_ttl_expired: Mapped[int] = mapped_column(BigInteger)
    miss_other: Mapped[int] = mapped_column(BigInteger)
    # Least-squares sums of TTFT (ms, y) against uncached input tokens (x), for ms per token;
    # fit_syy (migration 0017) gives the fit's R².
    fit_n: Mapped[int] = mapped_column(BigInteger)
    fit_sx: Mapped[float] = mapped_column(Double)
    fit_sy: Mapped[float] = mapped_column(Double)
    fit_sxx: Mapped[float] = mapped_column(Double)
    fit_sxy: Mapped[float] = mapped_column(Double)
    fit_syy: Mapped[float] = mapped_column(Double)

    __table_args__ = (
        # Tenant first in every key: the distribution column if sharded (README).
        PrimaryKeyConstraint("tenant_id", "id"),
        # The upsert key; NULL dimensions are one group (PostgreSQL 15+).
        Index(
            "uq_usage_hourly_key",
            *_ROLLUP_DIMENSIONS,
            "currency",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
        # Serves every dashboard query: a tenant's hours in a range.
        Index("ix_usage_hourly_tenant_hour", "tenant_id", "hour"),
    )


class TtftDaily(RollupDimensions, Base):
    """Daily TTFT histogram per dimension set and cache hit, for percentiles (daily keeps it
    small: every dashboard view is whole days)."""

    __tablename__ = "ttft_daily"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # see HOT_TABLES
    day: Mapped[datetime] = mapped_column(TZ)
    cache_hit: Mapped[bool] = mapped_column(Boolean)
    bucket: Mapped[int] = mapped_column(Integer)
    requests: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        # Tenant first in every key: the distribution column if sharded (README).
        PrimaryKeyConstraint("tenant_id", "id"),
        Index(
            "uq_ttft_daily_key",
            "tenant_id",
            "day",
            *_ROLLUP_DIMENSIONS[2:],
            "cache_hit",
            "bucket",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
        # Serves latency percentiles: a tenant's days in a range.
        Index("ix_ttft_daily_tenant_day", "tenant_id", "day"),
    )


class ReportedHourly(Base):
    """Hourly sums of the events that carry the source's own reported charge, per (provider,
    model): what reconciliation compares, without scanning events."""

    __tablename__ = "reported_hourly"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # see HOT_TABLES
    hour: Mapped[datetime] = mapped_column(TZ)
    provider: Mapped[str] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(256))
    events: Mapped[int] = mapped_column(BigInteger)
    unpriced: Mapped[int] = mapped_column(BigInteger)
    reported: Mapped[Decimal] = mapped_column(Total)
    computed: Mapped[Decimal] = mapped_column(Total)
    input_tokens: Mapped[int] = mapped_column(BigInteger)
    cache_read_tokens: Mapped[int] = mapped_column(BigInteger)
    cache_write_tokens: Mapped[int] = mapped_column(BigInteger)
    cache_write_1h_tokens: Mapped[int] = mapped_column(BigInteger)
    cost_cache_read: Mapped[Decimal] = mapped_column(Total)
    cost_cache_write_5m: Mapped[Decimal] = mapped_column(Total)
    cost_cache_write_1h: Mapped[Decimal] = mapped_column(Total)

    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "id"),
        # Also serves the report: a tenant's hours in a range.
        Index(
            "uq_reported_hourly_key",
            "tenant_id",
            "hour",
            "provider",
            "model",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
    )


class PrefixHourly(Base):
    """Hourly sums per cache prefix for the cache economics report, with each request's
    1-hour-TTL what-if class (decided by the gap to the prefix's previous request)."""

    __tablename__ = "prefix_hourly"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # see HOT_TABLES
    hour: Mapped[datetime] = mapped_column(TZ)
    app: Mapped[str | None] = mapped_column(String(128))
    prefix: Mapped[str] = mapped_column(String(256))
    provider: Mapped[str] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(256))
    currency: Mapped[str | None] = mapped_column(String(3))
    requests: Mapped[int] = mapped_column(BigInteger)
    write_requests: Mapped[int] = mapped_column(BigInteger)
    read_requests: Mapped[int] = mapped_column(BigInteger)
    write_tokens: Mapped[int] = mapped_column(BigInteger)
    read_tokens: Mapped[int] = mapped_column(BigInteger)
    # 5-minute writes that a 1-hour cache would have served (previous request 5-60 min
    # before), and the 5-minute write tokens that would still be written (at the 1h rate).
    whatif_hit_requests: Mapped[int] = mapped_column(BigInteger)
    whatif_hit_tokens: Mapped[int] = mapped_column(BigInteger)
    whatif_rewrite_tokens: Mapped[int] = mapped_column(BigInteger)
    cost: Mapped[Decimal] = mapped_column(Total)
    savings: Mapped[Decimal] = mapped_column(Total)
    write_premium: Mapped[Decimal] = mapped_column(Total)

    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "id"),
        Index(
            "uq_prefix_hourly_key",
            "tenant_id",
            "hour",
            "app",
            "prefix",
            "provider",
            "model",
            "currency",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
    )


class PrefixDaily(Base):
    """Daily sums per cache prefix (prefix_hash, else prompt_cache_key) and currency, for the
    dashboard's prefixes ranked by money saved or lost."""

    __tablename__ = "prefix_daily"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # see HOT_TABLES
    day: Mapped[datetime] = mapped_column(TZ)
    app: Mapped[str | None] = mapped_column(String(128))
    prefix: Mapped[str] = mapped_column(String(256))
    provider: Mapped[str] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(256))
    requests: Mapped[int] = mapped_column(BigInteger)
    hit_requests: Mapped[int] = mapped_column(BigInteger)
    input_tokens: Mapped[int] = mapped_column(BigInteger)
    cache_read_tokens: Mapped[int] = mapped_column(BigInteger)
    cache_write_tokens: Mapped[int] = mapped_column(BigInteger)
    # Money per currency (migration 0018); savings = nocache_cost - cost. NULL currency: the
    # unpriced requests, whose money is 0.
    currency: Mapped[str | None] = mapped_column(String(3))
    cost: Mapped[Decimal] = mapped_column(Total)
    nocache_cost: Mapped[Decimal] = mapped_column(Total)

    __table_args__ = (
        # Tenant first in every key: the distribution column if sharded (README).
        PrimaryKeyConstraint("tenant_id", "id"),
        Index(
            "uq_prefix_daily_key",
            "tenant_id",
            "day",
            "app",
            "prefix",
            "provider",
            "model",
            "currency",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
        Index("ix_prefix_daily_tenant_day", "tenant_id", "day"),
    )


class PrefixState(Base):
    """The last request seen per (tenant, app, cache key): to tell a prefix change or a TTL gap."""

    __tablename__ = "prefix_state"

    tenant_id: Mapped[int] = mapped_column(Integer)  # no foreign key: see HOT_TABLES
    app: Mapped[str] = mapped_column(String(128))
    cache_key: Mapped[str] = mapped_column(String(256))
    prefix_hash: Mapped[str | None] = mapped_column(String(128))
    last_seen: Mapped[datetime] = mapped_column(TZ)

    __table_args__ = (PrimaryKeyConstraint("tenant_id", "app", "cache_key"),)


class Regression(Base):
    """A detected hit-rate or cached-TTFT regression, open until it recovers."""

    __tablename__ = "regressions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(16))
    app: Mapped[str] = mapped_column(String(128))
    provider: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(256))
    cache_key: Mapped[str] = mapped_column(String(256))
    opened_at: Mapped[datetime] = mapped_column(TZ)
    closed_at: Mapped[datetime | None] = mapped_column(TZ)
    baseline: Mapped[float] = mapped_column(Double)
    recent: Mapped[float] = mapped_column(Double)
    cause: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)

    __table_args__ = (
        # Tenant first in every key: the distribution column if sharded (README).
        PrimaryKeyConstraint("tenant_id", "id"),
        CheckConstraint("kind IN ('hit_rate', 'ttft')", name="kind"),
        CheckConstraint("scope IN ('app_model', 'cache_key')", name="scope"),
        # At most one open regression per key.
        Index(
            "uq_regressions_open",
            "tenant_id",
            "kind",
            "scope",
            "app",
            "provider",
            "model",
            "cache_key",
            unique=True,
            postgresql_where=text("closed_at IS NULL"),
        ),
        # Serves GET /v1/regressions and the dashboard markers: a tenant's regressions by time.
        Index("ix_regressions_tenant_opened", "tenant_id", "opened_at"),
    )


class ProviderUsageBucket(Base):
    """Provider-reported usage for one time bucket (the provider-side truth to reconcile
    pushed events against), upserted so a re-fetched bucket replaces, never adds."""

    __tablename__ = "provider_usage_buckets"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    provider: Mapped[str] = mapped_column(String(64))
    bucket_start: Mapped[datetime] = mapped_column(TZ)
    bucket_end: Mapped[datetime] = mapped_column(TZ)
    model: Mapped[str] = mapped_column(String(256))
    # Other grouping the provider reports (project, workspace, API key, tier), "" if none.
    scope: Mapped[str] = mapped_column(String(256))
    requests: Mapped[int | None] = mapped_column(BigInteger)
    input_tokens: Mapped[int] = mapped_column(BigInteger)
    cache_read_tokens: Mapped[int] = mapped_column(BigInteger)
    cache_write_tokens: Mapped[int] = mapped_column(BigInteger)
    cache_write_1h_tokens: Mapped[int] = mapped_column(BigInteger)
    output_tokens: Mapped[int] = mapped_column(BigInteger)
    raw: Mapped[Any] = mapped_column(JSONB)
    fetched_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())

    __table_args__ = (
        # Tenant first in every key: the distribution column if sharded (README).
        PrimaryKeyConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "provider", "bucket_start", "model", "scope"),
        # Serves the comparison with pushed events by time range.
        Index("ix_provider_usage_buckets_tenant_start", "tenant_id", "bucket_start"),
    )


class CollectorCursor(Base):
    """Where a pull collector stopped: buckets before `collected_until` are complete."""

    __tablename__ = "collector_cursors"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    collector: Mapped[str] = mapped_column(String(64))
    collected_until: Mapped[datetime] = mapped_column(TZ)
    updated_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())

    __table_args__ = (PrimaryKeyConstraint("tenant_id", "collector"),)


class IngestRejection(Base):
    """Records refused at ingest, per (tenant, source, reason class): how many since the class
    was first seen, when it was last, and the latest sample (migration 0014).

    Bounded: one row per class (store.rejections caps the classes per source), upserted."""

    __tablename__ = "ingest_rejections"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(32))
    # ingest.rejection_reasons: the field path without indices and the kind, e.g. usage:negative.
    reason: Mapped[str] = mapped_column(String(200))
    count: Mapped[int] = mapped_column(BigInteger)
    first_seen: Mapped[datetime] = mapped_column(TZ)
    last_seen: Mapped[datetime] = mapped_column(TZ)
    # The latest rejected record's field (indices kept) and error, as its sender was told.
    sample_field: Mapped[str] = mapped_column(String(256))
    sample_error: Mapped[str] = mapped_column(Text)

    # The upsert key; it also serves the listing (a tenant's few rows, by tenant_id prefix).
    __table_args__ = (PrimaryKeyConstraint("tenant_id", "source", "reason"),)


class IngestOutcomeHourly(Base):
    """Records ingest did not store as new, per (tenant, hour received, source, outcome, reason
    class): how many, when last, and for conflicts the latest one's request id and what
    differed (migration 0019).

    Bounded: store.outcomes caps the classes per (tenant, hour, source, outcome), upserted."""

    __tablename__ = "ingest_outcomes_hourly"

    tenant_id: Mapped[int] = mapped_column(Integer)  # no foreign key: see HOT_TABLES
    # The UTC hour the records arrived in (a rejected record may carry no time of its own).
    hour: Mapped[datetime] = mapped_column(TZ)
    source: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    # rejected: ingest.rejection_reasons' class; duplicate: retry or merged; conflict: which of
    # usage, model and provider differed (ingest.conflicts), e.g. "usage+model".
    reason: Mapped[str] = mapped_column(String(200))
    count: Mapped[int] = mapped_column(BigInteger)
    last_seen: Mapped[datetime] = mapped_column(TZ)
    # Conflicts only (NULL otherwise; ingest_rejections keeps the rejected records' samples).
    sample_request_id: Mapped[str | None] = mapped_column(String(256))
    sample: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # The upsert key, tenant first (the distribution column if sharded); its prefixes
        # serve the cap on classes (tenant, hour, source, outcome) and the reads of a
        # tenant's range of hours.
        PrimaryKeyConstraint("tenant_id", "hour", "source", "outcome", "reason"),
        CheckConstraint("outcome IN ('rejected', 'duplicate', 'conflict')", name="outcome"),
        CheckConstraint("count > 0", name="positive"),
    )


class DashboardSession(Base):
    """A dashboard sign-in (migration 0015): which key opened it, and when it was last used.

    The cookie carries a random token; only its SHA-256 is kept, so a copy of the table signs
    nobody in. A row is checked on every dashboard request against its key (revoked, rotated
    out or expired keys end their sessions) and its idle and absolute limits."""

    __tablename__ = "dashboard_sessions"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(TZ)
    last_seen_at: Mapped[datetime] = mapped_column(TZ)
    # Set by sign-out: the cookie may still exist in a browser (or a copy), the session not.
    revoked_at: Mapped[datetime | None] = mapped_column(TZ)

    # Serves the per-request lookup (tenant from the signed cookie, then the token) and the
    # purge of a tenant's ended sessions at sign-in (tenant_id prefix).
    __table_args__ = (PrimaryKeyConstraint("tenant_id", "token_hash"),)
