"""usage_hourly.fit_syy: the sum of squared TTFT over the timed requests, so the latency page
can give the least-squares fit of TTFT on uncached tokens its R². Hand-written.

The column is filled from the stored events with the sum store.rollups keeps (NULL TTFTs add
nothing, as for fit_sy), so hours rolled up before this get a fit quality too; every rollup
row of an hour whose events carry no TTFT gets 0, its sum.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# usage_hourly's key (uq_usage_hourly_key) without tenant_id and hour; NULLs are one group.
NULLABLE_KEYS = ("model", "app", "team", "environment", "currency")


def upgrade() -> None:
    # The default fills existing rows with 0 at once; it goes once they are backfilled, as
    # ingest always writes the column (the other fit sums have no default either).
    op.add_column(
        "usage_hourly", sa.Column("fit_syy", sa.Double(), nullable=False, server_default="0")
    )
    same_key = " AND ".join(f"h.{k} IS NOT DISTINCT FROM e.{k}" for k in NULLABLE_KEYS)
    op.execute(
        f"""
        UPDATE usage_hourly h SET fit_syy = e.syy
        FROM (
            SELECT tenant_id, date_trunc('hour', occurred_at, 'UTC') AS hour, provider,
                {", ".join(NULLABLE_KEYS)}, sum(ttft_ms * ttft_ms) AS syy
            FROM usage_events
            WHERE ttft_ms IS NOT NULL
            GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
        ) e
        WHERE h.tenant_id = e.tenant_id AND h.hour = e.hour AND h.provider = e.provider
            AND {same_key}
        """
    )
    op.alter_column("usage_hourly", "fit_syy", server_default=None)


def downgrade() -> None:
    op.drop_column("usage_hourly", "fit_syy")
