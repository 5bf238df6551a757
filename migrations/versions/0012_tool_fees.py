"""Server-tool fees: usage_events.cost_tool_fees and tool_requests, usage_hourly.cost_tool_fees.
Hand-written.

A request that used a server-side tool with a per-request fee (Anthropic web search) pays it
beside its tokens; the fee is a part of the cost like the others, so the hourly rollup sums it
(the statement's parts add up to its cost). Stored events have none: the rollup column starts
at 0, which is their sum.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=24, scale=12)


def upgrade() -> None:
    op.add_column("usage_events", sa.Column("cost_tool_fees", MONEY, nullable=True))
    op.add_column("usage_events", sa.Column("tool_requests", postgresql.JSONB(), nullable=True))
    op.add_column(
        "usage_hourly",
        sa.Column("cost_tool_fees", MONEY, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("usage_hourly", "cost_tool_fees")
    op.drop_column("usage_events", "tool_requests")
    op.drop_column("usage_events", "cost_tool_fees")
