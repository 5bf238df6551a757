"""Hourly rollup of events that carry a reported charge, for reconciliation. Hand-written.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(24, 12)


def upgrade() -> None:
    op.create_table(
        "reported_hourly",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=256), nullable=True),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("unpriced", sa.BigInteger(), nullable=False),
        sa.Column("reported", MONEY, nullable=False),
        sa.Column("computed", MONEY, nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_write_1h_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_cache_read", MONEY, nullable=False),
        sa.Column("cost_cache_write_5m", MONEY, nullable=False),
        sa.Column("cost_cache_write_1h", MONEY, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_reported_hourly_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_reported_hourly")),
    )
    op.create_index(
        "uq_reported_hourly_key",
        "reported_hourly",
        ["tenant_id", "hour", "provider", "model"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    # Existing events: the same sums store.rollups.rebuild computes.
    op.execute(
        """
        INSERT INTO reported_hourly (tenant_id, hour, provider, model, events, unpriced,
            reported, computed, input_tokens, cache_read_tokens, cache_write_tokens,
            cache_write_1h_tokens, cost_cache_read, cost_cache_write_5m, cost_cache_write_1h)
        SELECT tenant_id, date_trunc('hour', occurred_at, 'UTC'), provider, model, count(*),
            count(*) FILTER (WHERE cost IS NULL), sum(reported_cost), coalesce(sum(cost), 0),
            sum(input_tokens), sum(cache_read_tokens), sum(cache_write_tokens),
            sum(cache_write_1h_tokens), coalesce(sum(cost_cache_read), 0),
            coalesce(sum(cost_cache_write_5m), 0), coalesce(sum(cost_cache_write_1h), 0)
        FROM usage_events WHERE reported_cost IS NOT NULL
        GROUP BY 1, 2, 3, 4
        """
    )


def downgrade() -> None:
    op.drop_index(
        "uq_reported_hourly_key", table_name="reported_hourly", postgresql_nulls_not_distinct=True
    )
    op.drop_table("reported_hourly")
