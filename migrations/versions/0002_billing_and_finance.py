"""Billing and finance: negotiated discounts, storage rates, FX, re-price audit, explicit caches,
budgets, genai-prices sync snapshots, and the write premium stored per event.

Reviewed by hand. Check constraints on `prices` are added explicitly (autogenerate does not
see them). The downgrade deletes discount-only price rows, which the old schema cannot hold.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 00:27:48.371949
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fx_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_currency", sa.String(length=3), nullable=False),
        sa.Column("to_currency", sa.String(length=3), nullable=False),
        sa.Column("rate", sa.Numeric(precision=24, scale=12), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("rate > 0", name=op.f("ck_fx_rates_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fx_rates")),
        sa.UniqueConstraint(
            "from_currency", "to_currency", "effective_from", name=op.f("uq_fx_rates_from_currency")
        ),
    )
    op.create_table(
        "genai_price_syncs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "synced_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("models", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_genai_price_syncs")),
    )
    op.create_table(
        "budgets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("amount", sa.Numeric(precision=24, scale=12), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "threshold_pct", sa.Numeric(precision=5, scale=2), server_default="80", nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("scope IN ('team', 'app')", name=op.f("ck_budgets_scope")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_budgets_positive")),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_budgets_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budgets")),
        sa.UniqueConstraint("tenant_id", "scope", "name", name=op.f("uq_budgets_tenant_id")),
    )
    op.create_table(
        "cache_objects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=256), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("token_count", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("app", sa.String(length=128), nullable=True),
        sa.Column("team", sa.String(length=128), nullable=True),
        sa.Column("environment", sa.String(length=128), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("storage_mtok_hour", sa.Numeric(precision=18, scale=9), nullable=True),
        sa.Column("cost_storage", sa.Numeric(precision=24, scale=12), nullable=True),
        sa.Column("price_source", sa.String(length=32), nullable=True),
        sa.Column("price_id", sa.Integer(), nullable=True),
        sa.Column("unpriced_reason", sa.Text(), nullable=True),
        sa.Column("raw", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_cache_objects_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cache_objects")),
        sa.UniqueConstraint(
            "tenant_id", "provider", "name", name=op.f("uq_cache_objects_tenant_id")
        ),
    )
    op.create_index(
        "ix_cache_objects_tenant_created",
        "cache_objects",
        ["tenant_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "reprice_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "ran_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("range_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("range_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=True),
        sa.Column("model", sa.String(length=256), nullable=True),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("events_seen", sa.Integer(), nullable=False),
        sa.Column("events_changed", sa.Integer(), nullable=False),
        sa.Column("totals", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_reprice_runs_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reprice_runs")),
    )
    op.add_column(
        "prices", sa.Column("discount_pct", sa.Numeric(precision=7, scale=4), nullable=True)
    )
    op.add_column(
        "prices", sa.Column("storage_mtok_hour", sa.Numeric(precision=18, scale=9), nullable=True)
    )
    op.alter_column(
        "prices", "input_mtok", existing_type=sa.NUMERIC(precision=18, scale=9), nullable=True
    )
    op.alter_column(
        "prices", "output_mtok", existing_type=sa.NUMERIC(precision=18, scale=9), nullable=True
    )
    op.alter_column(
        "prices", "cache_read_mtok", existing_type=sa.NUMERIC(precision=18, scale=9), nullable=True
    )
    op.alter_column(
        "prices", "cache_write_mtok", existing_type=sa.NUMERIC(precision=18, scale=9), nullable=True
    )
    op.alter_column(
        "prices",
        "cache_write_1h_mtok",
        existing_type=sa.NUMERIC(precision=18, scale=9),
        nullable=True,
    )
    op.create_check_constraint(
        op.f("ck_prices_rates_or_discount"),
        "prices",
        "(discount_pct IS NULL) = (input_mtok IS NOT NULL AND output_mtok IS NOT NULL)",
    )
    op.create_check_constraint(
        op.f("ck_prices_discount_range"),
        "prices",
        "discount_pct IS NULL OR (discount_pct > -1000 AND discount_pct < 100)",
    )
    op.add_column(
        "usage_events",
        sa.Column("cost_write_premium", sa.Numeric(precision=24, scale=12), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("usage_events", "cost_write_premium")
    op.drop_constraint(op.f("ck_prices_discount_range"), "prices", type_="check")
    op.drop_constraint(op.f("ck_prices_rates_or_discount"), "prices", type_="check")
    op.execute("DELETE FROM prices WHERE discount_pct IS NOT NULL")
    op.alter_column(
        "prices",
        "cache_write_1h_mtok",
        existing_type=sa.NUMERIC(precision=18, scale=9),
        nullable=False,
    )
    op.alter_column(
        "prices",
        "cache_write_mtok",
        existing_type=sa.NUMERIC(precision=18, scale=9),
        nullable=False,
    )
    op.alter_column(
        "prices", "cache_read_mtok", existing_type=sa.NUMERIC(precision=18, scale=9), nullable=False
    )
    op.alter_column(
        "prices", "output_mtok", existing_type=sa.NUMERIC(precision=18, scale=9), nullable=False
    )
    op.alter_column(
        "prices", "input_mtok", existing_type=sa.NUMERIC(precision=18, scale=9), nullable=False
    )
    op.drop_column("prices", "storage_mtok_hour")
    op.drop_column("prices", "discount_pct")
    op.drop_table("reprice_runs")
    op.drop_index("ix_cache_objects_tenant_created", table_name="cache_objects")
    op.drop_table("cache_objects")
    op.drop_table("budgets")
    op.drop_table("genai_price_syncs")
    op.drop_table("fx_rates")
