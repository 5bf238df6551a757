"""usage_events.service_tier and inference_geo: a request's service terms. Hand-written.

A batch or flex request is billed at its tier's rates and a US-only Anthropic request at 1.1x,
so re-pricing needs both of every stored request. Events stored before this migration have
neither (they were priced at the standard rates); nullable columns without default are added
without rewriting the table.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 23:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("usage_events", sa.Column("service_tier", sa.String(32), nullable=True))
    op.add_column("usage_events", sa.Column("inference_geo", sa.String(32), nullable=True))


def downgrade() -> None:
    op.drop_column("usage_events", "inference_geo")
    op.drop_column("usage_events", "service_tier")
