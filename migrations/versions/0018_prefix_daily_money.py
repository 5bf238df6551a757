"""Money in prefix_daily: currency, cost and nocache_cost (savings = nocache_cost - cost), with
the currency in the upsert key, so the dashboard can rank prefixes by money saved or lost.
Hand-written.

A day's row of a prefix that was priced in two currencies (or partly unpriced) becomes one row
per currency, so the table is refilled from the stored events with the sums store.rollups
keeps (as 0009 filled prefix_hourly): that reads every event once. Downgrading refills it in
0003's shape the same way.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(24, 12)
KEY = ["tenant_id", "day", "app", "prefix", "provider", "model"]
PREFIX = "coalesce(prefix_hash, prompt_cache_key)"


def _refill(with_money: bool) -> None:
    """prefix_daily's rows again from usage_events, per currency if `with_money`."""
    op.execute("DELETE FROM prefix_daily")
    money_columns = ", currency, cost, nocache_cost" if with_money else ""
    money_sums = (
        ", currency, coalesce(sum(cost), 0), coalesce(sum(nocache_cost), 0)" if with_money else ""
    )
    groups = "1, 2, 3, 4, 5, 6, 12" if with_money else "1, 2, 3, 4, 5, 6"
    op.execute(
        f"""
        INSERT INTO prefix_daily (tenant_id, day, app, prefix, provider, model, requests,
            hit_requests, input_tokens, cache_read_tokens, cache_write_tokens{money_columns})
        SELECT tenant_id, date_trunc('day', occurred_at, 'UTC'), app, {PREFIX}, provider,
            model, count(*), count(*) FILTER (WHERE cache_read_tokens > 0), sum(input_tokens),
            sum(cache_read_tokens), sum(cache_write_tokens){money_sums}
        FROM usage_events
        WHERE {PREFIX} IS NOT NULL
        GROUP BY {groups}
        """
    )


def _key(columns: list[str]) -> None:
    op.create_index(
        "uq_prefix_daily_key",
        "prefix_daily",
        columns,
        unique=True,
        postgresql_nulls_not_distinct=True,
    )


def upgrade() -> None:
    op.drop_index(
        "uq_prefix_daily_key", table_name="prefix_daily", postgresql_nulls_not_distinct=True
    )
    op.add_column("prefix_daily", sa.Column("currency", sa.String(length=3), nullable=True))
    # Defaults only while the columns are added; the refill and ingest write them.
    for column in ("cost", "nocache_cost"):
        op.add_column("prefix_daily", sa.Column(column, MONEY, nullable=False, server_default="0"))
    _refill(with_money=True)
    for column in ("cost", "nocache_cost"):
        op.alter_column("prefix_daily", column, server_default=None)
    _key([*KEY, "currency"])


def downgrade() -> None:
    op.drop_index(
        "uq_prefix_daily_key", table_name="prefix_daily", postgresql_nulls_not_distinct=True
    )
    for column in ("nocache_cost", "cost", "currency"):
        op.drop_column("prefix_daily", column)
    _refill(with_money=False)
    _key(KEY)
