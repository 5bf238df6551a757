"""The tables every ingested batch writes lose their foreign key to tenants. Hand-written.

A foreign key's check is a lookup of the tenant per inserted row (an internal trigger), paid
by every event, its idempotency key and each rollup row a batch adds; the tenant of those
rows always comes from an authenticated API key, which cannot name a tenant that does not
exist. Deleting a tenant no longer cascades into them: store.tenants.delete_tenant deletes
their rows first, then the tenant (whose other tables still cascade).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 14:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

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


def upgrade() -> None:
    for table in HOT_TABLES:
        op.drop_constraint(f"fk_{table}_tenant_id_tenants", table, type_="foreignkey")


def downgrade() -> None:
    for table in HOT_TABLES:
        # Rows of tenants deleted meanwhile would fail the key: they go first.
        op.execute(
            f"DELETE FROM {table} t WHERE NOT EXISTS (SELECT FROM tenants WHERE id = t.tenant_id)"
        )
        op.create_foreign_key(
            f"fk_{table}_tenant_id_tenants",
            table,
            "tenants",
            ["tenant_id"],
            ["id"],
            ondelete="CASCADE",
        )
