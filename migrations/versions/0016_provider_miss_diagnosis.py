"""The provider's own diagnosis of a cache miss (usage_events.provider_miss_reason and
provider_missed_tokens): Anthropic cache diagnostics and OpenAI prompt_cache_diagnostics name
what changed since the compared request. Hand-written.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 17:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No backfill: events stored before this carried no diagnosis cachemeter read.
    op.add_column(
        "usage_events", sa.Column("provider_miss_reason", sa.String(length=64), nullable=True)
    )
    op.add_column(
        "usage_events", sa.Column("provider_missed_tokens", sa.BigInteger(), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("usage_events", "provider_missed_tokens")
    op.drop_column("usage_events", "provider_miss_reason")
