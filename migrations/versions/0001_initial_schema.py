"""Initial schema: tenants, API keys, prices, idempotency keys, monthly-partitioned usage events.

Reviewed by hand. usage_events is only the partitioned parent: the application creates
monthly partitions on demand (store.partitions), and the downgrade drops them with it.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 00:12:19.154275
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("name", name=op.f("uq_tenants_name")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_api_keys_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index(op.f("ix_api_keys_tenant_id"), "api_keys", ["tenant_id"], unique=False)
    op.create_table(
        "prices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=256), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("input_mtok", sa.Numeric(precision=18, scale=9), nullable=False),
        sa.Column("output_mtok", sa.Numeric(precision=18, scale=9), nullable=False),
        sa.Column("cache_read_mtok", sa.Numeric(precision=18, scale=9), nullable=False),
        sa.Column("cache_write_mtok", sa.Numeric(precision=18, scale=9), nullable=False),
        sa.Column("cache_write_1h_mtok", sa.Numeric(precision=18, scale=9), nullable=False),
        sa.Column(
            "tiers", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("effective_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_prices_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prices")),
    )
    op.create_index("ix_prices_provider_model", "prices", ["provider", "model"], unique=False)
    op.execute(sa.schema.CreateSequence(sa.Sequence("usage_events_id_seq")))
    op.create_table(
        "usage_events",
        sa.Column(
            "id",
            sa.BigInteger(),
            server_default=sa.text("nextval('usage_events_id_seq')"),
            nullable=False,
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=256), nullable=True),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=256), nullable=True),
        sa.Column("shape", sa.String(length=64), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_write_1h_tokens", sa.BigInteger(), nullable=False),
        sa.Column("uncached_input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("reasoning_tokens", sa.BigInteger(), nullable=False),
        sa.Column("ttft_ms", sa.Double(), nullable=True),
        sa.Column("latency_ms", sa.Double(), nullable=True),
        sa.Column("app", sa.String(length=128), nullable=True),
        sa.Column("team", sa.String(length=128), nullable=True),
        sa.Column("environment", sa.String(length=128), nullable=True),
        sa.Column("end_user", sa.String(length=64), nullable=True),
        sa.Column("prompt_cache_key", sa.String(length=256), nullable=True),
        sa.Column("prefix_hash", sa.String(length=128), nullable=True),
        sa.Column(
            "tags", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("raw", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("cost_uncached_input", sa.Numeric(precision=24, scale=12), nullable=True),
        sa.Column("cost_cache_read", sa.Numeric(precision=24, scale=12), nullable=True),
        sa.Column("cost_cache_write_5m", sa.Numeric(precision=24, scale=12), nullable=True),
        sa.Column("cost_cache_write_1h", sa.Numeric(precision=24, scale=12), nullable=True),
        sa.Column("cost_output", sa.Numeric(precision=24, scale=12), nullable=True),
        sa.Column("cost", sa.Numeric(precision=24, scale=12), nullable=True),
        sa.Column("nocache_cost", sa.Numeric(precision=24, scale=12), nullable=True),
        sa.Column("savings", sa.Numeric(precision=24, scale=12), nullable=True),
        sa.Column("reported_cost", sa.Numeric(precision=24, scale=12), nullable=True),
        sa.Column("price_source", sa.String(length=32), nullable=True),
        sa.Column("price_id", sa.Integer(), nullable=True),
        sa.Column("price_ref", sa.Text(), nullable=True),
        sa.Column("priced_model", sa.String(length=256), nullable=True),
        sa.Column("unpriced_reason", sa.Text(), nullable=True),
        sa.Column("miss_hint", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_usage_events_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", "occurred_at", name=op.f("pk_usage_events")),
        postgresql_partition_by="RANGE (occurred_at)",
    )
    op.create_index(
        "ix_usage_events_tenant_occurred",
        "usage_events",
        ["tenant_id", "occurred_at"],
        unique=False,
    )
    op.create_table(
        "usage_keys",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=256), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_usage_keys_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "source", "request_id", name=op.f("pk_usage_keys")),
    )


def downgrade() -> None:
    op.drop_table("usage_keys")
    op.drop_index("ix_usage_events_tenant_occurred", table_name="usage_events")
    op.drop_table("usage_events")  # drops its partitions too
    op.execute(sa.schema.DropSequence(sa.Sequence("usage_events_id_seq")))
    op.drop_index("ix_prices_provider_model", table_name="prices")
    op.drop_table("prices")
    op.drop_index(op.f("ix_api_keys_tenant_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("tenants")
