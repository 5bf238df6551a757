"""Primary keys lead with tenant_id, so every table can be distributed on the tenant column
(Citus) without changing a key. Hand-written.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 02:25:00
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = (
    "budgets",
    "cache_objects",
    "prefix_daily",
    "provider_usage_buckets",
    "regressions",
    "ttft_daily",
    "usage_hourly",
)


def _replace_key(table: str, columns: list[str]) -> None:
    op.drop_constraint(f"pk_{table}", table, type_="primary")
    op.create_primary_key(f"pk_{table}", table, columns)


def upgrade() -> None:
    for table in TABLES:
        _replace_key(table, ["tenant_id", "id"])
    # On the partitioned parent: PostgreSQL rebuilds each partition's key index.
    _replace_key("usage_events", ["tenant_id", "id", "occurred_at"])


def downgrade() -> None:
    _replace_key("usage_events", ["id", "occurred_at"])
    for table in TABLES:
        _replace_key(table, ["id"])
