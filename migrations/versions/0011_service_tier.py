"""usage_events.service_tier: the tier a provider served a request at. Hand-written.

A batch or flex request is billed at its tier's rates, so re-pricing needs the tier of every
stored request. Events stored before this migration have none (they were priced at the
standard rate); a nullable column without default is added without rewriting the table.

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


def downgrade() -> None:
    op.drop_column("usage_events", "service_tier")
