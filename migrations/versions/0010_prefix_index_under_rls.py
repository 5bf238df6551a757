"""The prefix index in a form row-level security lets queries use. Hand-written.

Under RLS, Postgres keeps a query's leaky expressions from being evaluated before the
policy, and it counts COALESCE as leaky: the what-if's neighbour probes could use only
`tenant_id`, `provider` and time of the 0009 index, filtering the rest row by row. CASE and
IS NULL are not leaky, so the same keys written with them are index conditions again.
Rebuilding the index takes a while on a large table (every partition is indexed anew).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 06:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX ix_usage_events_prefix_time")
    op.execute(
        "CREATE INDEX ix_usage_events_prefix_time ON usage_events"
        " (tenant_id, (CASE WHEN app IS NULL THEN '' ELSE app END),"
        " (CASE WHEN prefix_hash IS NULL THEN prompt_cache_key ELSE prefix_hash END), provider,"
        " (CASE WHEN model IS NULL THEN '' ELSE model END), occurred_at, id)"
        " WHERE prefix_hash IS NOT NULL OR prompt_cache_key IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_usage_events_prefix_time")
    op.execute(
        "CREATE INDEX ix_usage_events_prefix_time ON usage_events"
        " (tenant_id, (coalesce(app, '')), (coalesce(prefix_hash, prompt_cache_key)), provider,"
        " (coalesce(model, '')), occurred_at, id)"
        " WHERE coalesce(prefix_hash, prompt_cache_key) IS NOT NULL"
    )
