"""Hourly per-prefix rollup for cache economics, with the 1-hour-TTL what-if classified per
request at ingest; an index to find a request's neighbours of the same prefix. Hand-written.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 03:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(24, 12)
COUNTS = (
    "requests",
    "write_requests",
    "read_requests",
    "write_tokens",
    "read_tokens",
    "whatif_hit_requests",
    "whatif_hit_tokens",
    "whatif_rewrite_tokens",
)


def upgrade() -> None:
    op.create_table(
        "prefix_hourly",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("app", sa.String(length=128), nullable=True),
        sa.Column("prefix", sa.String(length=256), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=256), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        *[sa.Column(name, sa.BigInteger(), nullable=False) for name in COUNTS],
        sa.Column("cost", MONEY, nullable=False),
        sa.Column("savings", MONEY, nullable=False),
        sa.Column("write_premium", MONEY, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_prefix_hourly_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_prefix_hourly")),
    )
    op.create_index(
        "uq_prefix_hourly_key",
        "prefix_hourly",
        ["tenant_id", "hour", "app", "prefix", "provider", "model", "currency"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.execute("ALTER TABLE prefix_hourly ENABLE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON prefix_hourly TO cachemeter_app"
        " USING (tenant_id = NULLIF(current_setting('cachemeter.tenant_id', true), '')::int)"
        " WITH CHECK (tenant_id = NULLIF(current_setting('cachemeter.tenant_id', true), '')::int)"
    )
    # A request's neighbours of the same prefix (its previous request sets the what-if).
    op.execute(
        "CREATE INDEX ix_usage_events_prefix_time ON usage_events"
        " (tenant_id, (coalesce(app, '')), (coalesce(prefix_hash, prompt_cache_key)), provider,"
        " (coalesce(model, '')), occurred_at, id)"
        " WHERE coalesce(prefix_hash, prompt_cache_key) IS NOT NULL"
    )
    # Existing events: the SQL store.rollups.rebuild runs.
    op.execute(
        """
        INSERT INTO prefix_hourly (tenant_id, hour, app, prefix, provider, model, currency,
            requests, write_requests, read_requests, write_tokens, read_tokens,
            whatif_hit_requests, whatif_hit_tokens, whatif_rewrite_tokens, cost, savings,
            write_premium)
        SELECT tenant_id, date_trunc('hour', occurred_at, 'UTC'), app, prefix, provider, model,
            currency, count(*), count(*) FILTER (WHERE cache_write_tokens > 0),
            count(*) FILTER (WHERE cache_read_tokens > 0), sum(cache_write_tokens),
            sum(cache_read_tokens), count(*) FILTER (WHERE short > 0 AND hit),
            coalesce(sum(short) FILTER (WHERE short > 0 AND hit), 0),
            coalesce(sum(short) FILTER (WHERE short > 0 AND NOT hit), 0), coalesce(sum(cost), 0),
            coalesce(sum(savings), 0), coalesce(sum(cost_write_premium), 0)
        FROM (
            SELECT *, coalesce(gap > 300 AND gap <= 3600, false) AS hit
            FROM (
                SELECT *, cache_write_tokens - cache_write_1h_tokens AS short,
                    extract(epoch FROM occurred_at - lag(occurred_at) OVER (
                        PARTITION BY tenant_id, app, prefix, provider, model
                        ORDER BY occurred_at, id)) AS gap
                FROM (SELECT *, coalesce(prefix_hash, prompt_cache_key) AS prefix
                    FROM usage_events) keyed
                WHERE prefix IS NOT NULL
            ) timed
        ) classified
        GROUP BY 1, 2, 3, 4, 5, 6, 7
        """
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_usage_events_prefix_time")
    op.execute("DROP POLICY tenant_isolation ON prefix_hourly")
    op.drop_index(
        "uq_prefix_hourly_key", table_name="prefix_hourly", postgresql_nulls_not_distinct=True
    )
    op.drop_table("prefix_hourly")
