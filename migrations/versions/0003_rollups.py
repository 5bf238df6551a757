"""Rollups: hourly usage, daily TTFT histograms, daily prefix sums, and per-key prefix state.

Reviewed by hand. The upgrade fills the rollups from the events already stored, with the same
rules as store.rollups (copied here, as migrations must not change when the code does).
Unique keys use NULLS NOT DISTINCT, which needs PostgreSQL 15 or later.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 00:48:54.746951
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prefix_daily",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
        sa.Column("app", sa.String(length=128), nullable=True),
        sa.Column("prefix", sa.String(length=256), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=256), nullable=True),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("hit_requests", sa.BigInteger(), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_prefix_daily_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prefix_daily")),
    )
    op.create_index(
        "ix_prefix_daily_tenant_day", "prefix_daily", ["tenant_id", "day"], unique=False
    )
    op.create_index(
        "uq_prefix_daily_key",
        "prefix_daily",
        ["tenant_id", "day", "app", "prefix", "provider", "model"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.create_table(
        "prefix_state",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("app", sa.String(length=128), nullable=False),
        sa.Column("cache_key", sa.String(length=256), nullable=False),
        sa.Column("prefix_hash", sa.String(length=128), nullable=True),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_prefix_state_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "app", "cache_key", name=op.f("pk_prefix_state")),
    )
    op.create_table(
        "ttft_daily",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=256), nullable=True),
        sa.Column("app", sa.String(length=128), nullable=True),
        sa.Column("team", sa.String(length=128), nullable=True),
        sa.Column("environment", sa.String(length=128), nullable=True),
        sa.Column("cache_hit", sa.Boolean(), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_ttft_daily_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ttft_daily")),
    )
    op.create_index("ix_ttft_daily_tenant_day", "ttft_daily", ["tenant_id", "day"], unique=False)
    op.create_index(
        "uq_ttft_daily_key",
        "ttft_daily",
        [
            "tenant_id",
            "day",
            "provider",
            "model",
            "app",
            "team",
            "environment",
            "cache_hit",
            "bucket",
        ],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.create_table(
        "usage_hourly",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=256), nullable=True),
        sa.Column("app", sa.String(length=128), nullable=True),
        sa.Column("team", sa.String(length=128), nullable=True),
        sa.Column("environment", sa.String(length=128), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("hit_requests", sa.BigInteger(), nullable=False),
        sa.Column("unpriced_requests", sa.BigInteger(), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_write_1h_tokens", sa.BigInteger(), nullable=False),
        sa.Column("uncached_input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_uncached_input", sa.Numeric(precision=24, scale=12), nullable=False),
        sa.Column("cost_cache_read", sa.Numeric(precision=24, scale=12), nullable=False),
        sa.Column("cost_cache_write_5m", sa.Numeric(precision=24, scale=12), nullable=False),
        sa.Column("cost_cache_write_1h", sa.Numeric(precision=24, scale=12), nullable=False),
        sa.Column("cost_output", sa.Numeric(precision=24, scale=12), nullable=False),
        sa.Column("cost", sa.Numeric(precision=24, scale=12), nullable=False),
        sa.Column("nocache_cost", sa.Numeric(precision=24, scale=12), nullable=False),
        sa.Column("savings", sa.Numeric(precision=24, scale=12), nullable=False),
        sa.Column("write_premium", sa.Numeric(precision=24, scale=12), nullable=False),
        sa.Column("miss_below_minimum", sa.BigInteger(), nullable=False),
        sa.Column("miss_first_write", sa.BigInteger(), nullable=False),
        sa.Column("miss_prefix_changed", sa.BigInteger(), nullable=False),
        sa.Column("miss_ttl_expired", sa.BigInteger(), nullable=False),
        sa.Column("miss_other", sa.BigInteger(), nullable=False),
        sa.Column("fit_n", sa.BigInteger(), nullable=False),
        sa.Column("fit_sx", sa.Double(), nullable=False),
        sa.Column("fit_sy", sa.Double(), nullable=False),
        sa.Column("fit_sxx", sa.Double(), nullable=False),
        sa.Column("fit_sxy", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_usage_hourly_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_hourly")),
    )
    op.create_index(
        "ix_usage_hourly_tenant_hour", "usage_hourly", ["tenant_id", "hour"], unique=False
    )
    op.create_index(
        "uq_usage_hourly_key",
        "usage_hourly",
        ["tenant_id", "hour", "provider", "model", "app", "team", "environment", "currency"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    # Backfill from the events stored so far.
    op.execute(
        """
        INSERT INTO usage_hourly (tenant_id, hour, provider, model, app, team, environment,
        currency,
        requests, hit_requests, unpriced_requests, input_tokens, cache_read_tokens,
        cache_write_tokens, cache_write_1h_tokens, uncached_input_tokens, output_tokens,
        cost_uncached_input, cost_cache_read, cost_cache_write_5m, cost_cache_write_1h,
        cost_output, cost, nocache_cost, savings, write_premium, miss_below_minimum,
        miss_first_write, miss_prefix_changed, miss_ttl_expired, miss_other,
        fit_n, fit_sx, fit_sy, fit_sxx, fit_sxy)
        SELECT tenant_id, date_trunc('hour', occurred_at, 'UTC'), provider, model, app, team,
        environment, currency, count(*), count(*) FILTER (WHERE cache_read_tokens > 0),
        count(*) FILTER (WHERE cost IS NULL), sum(input_tokens), sum(cache_read_tokens),
        sum(cache_write_tokens), sum(cache_write_1h_tokens), sum(uncached_input_tokens),
        sum(output_tokens), coalesce(sum(cost_uncached_input), 0),
        coalesce(sum(cost_cache_read), 0),
        coalesce(sum(cost_cache_write_5m), 0), coalesce(sum(cost_cache_write_1h), 0),
        coalesce(sum(cost_output), 0), coalesce(sum(cost), 0), coalesce(sum(nocache_cost), 0),
        coalesce(sum(savings), 0), coalesce(sum(cost_write_premium), 0),
        count(*) FILTER (WHERE cache_read_tokens = 0 AND miss_hint = 'below_minimum_length'),
        count(*) FILTER (WHERE cache_read_tokens = 0 AND miss_hint = 'first_write'),
        count(*) FILTER (WHERE cache_read_tokens = 0 AND miss_hint = 'prefix_changed'),
        count(*) FILTER (WHERE cache_read_tokens = 0 AND miss_hint = 'ttl_expired'),
        count(*) FILTER (WHERE cache_read_tokens = 0 AND (miss_hint IS NULL OR miss_hint NOT IN
        ('below_minimum_length', 'first_write', 'prefix_changed', 'ttl_expired'))),
        count(ttft_ms),
        coalesce(sum(uncached_input_tokens::float8) FILTER (WHERE ttft_ms IS NOT NULL), 0),
        coalesce(sum(ttft_ms), 0),
        coalesce(sum(uncached_input_tokens::float8 * uncached_input_tokens)
        FILTER (WHERE ttft_ms IS NOT NULL), 0),
        coalesce(sum(uncached_input_tokens::float8 * ttft_ms), 0)
        FROM usage_events
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
        """
    )
    op.execute(
        """
        INSERT INTO ttft_daily (tenant_id, day, provider, model, app, team, environment,
        cache_hit,
        bucket, requests)
        SELECT tenant_id, date_trunc('day', occurred_at, 'UTC'), provider, model, app, team,
        environment, cache_read_tokens > 0, width_bucket(ttft_ms, ARRAY[
            10.0, 12.5, 15.625, 19.531, 24.414, 30.518, 38.147, 47.684, 59.605,
            74.506, 93.132, 116.415, 145.519, 181.899, 227.374, 284.217, 355.271,
            444.089, 555.112, 693.889, 867.362, 1084.202, 1355.253, 1694.066,
            2117.582, 2646.978, 3308.722, 4135.903, 5169.879, 6462.349, 8077.936,
            10097.42, 12621.774, 15777.218, 19721.523, 24651.903, 30814.879,
            38518.599, 48148.249, 60185.311
        ]::float8[]), count(*)
        FROM usage_events
        WHERE ttft_ms IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
        """
    )
    op.execute(
        """
        INSERT INTO prefix_daily (tenant_id, day, app, prefix, provider, model, requests,
        hit_requests,
        input_tokens, cache_read_tokens, cache_write_tokens)
        SELECT tenant_id, date_trunc('day', occurred_at, 'UTC'), app,
        coalesce(prefix_hash, prompt_cache_key), provider, model, count(*),
        count(*) FILTER (WHERE cache_read_tokens > 0), sum(input_tokens), sum(cache_read_tokens),
        sum(cache_write_tokens)
        FROM usage_events
        WHERE coalesce(prefix_hash, prompt_cache_key) IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5, 6
        """
    )


def downgrade() -> None:
    op.drop_index(
        "uq_usage_hourly_key", table_name="usage_hourly", postgresql_nulls_not_distinct=True
    )
    op.drop_index("ix_usage_hourly_tenant_hour", table_name="usage_hourly")
    op.drop_table("usage_hourly")
    op.drop_index("uq_ttft_daily_key", table_name="ttft_daily", postgresql_nulls_not_distinct=True)
    op.drop_index("ix_ttft_daily_tenant_day", table_name="ttft_daily")
    op.drop_table("ttft_daily")
    op.drop_table("prefix_state")
    op.drop_index(
        "uq_prefix_daily_key", table_name="prefix_daily", postgresql_nulls_not_distinct=True
    )
    op.drop_index("ix_prefix_daily_tenant_day", table_name="prefix_daily")
    op.drop_table("prefix_daily")
