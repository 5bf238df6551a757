"""ingest_outcomes_hourly: records not stored as new, per tenant, hour, source, outcome and reason
class. Hand-written.

ingest_rejections keeps one row per reason class (the count since it was first seen and the
latest sample), so it cannot say when rejections rose; duplicates and conflicts (a request id
reused with other numbers) were only in the sender's answer and the process's metrics. This
table counts all three per UTC hour of arrival, upserted in the batch's own transaction, and
keeps the latest conflict's request id and what differed. Its rows are bounded per hour (the
store caps the classes), tenant-owned and under the same row-level security as the other
tenant tables (migration 0008).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

APP_ROLE = "cachemeter_app"
CURRENT = "NULLIF(current_setting('cachemeter.tenant_id', true), '')::int"


def upgrade() -> None:
    op.create_table(
        "ingest_outcomes_hourly",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sample_request_id", sa.String(length=256), nullable=True),
        sa.Column("sample", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('rejected', 'duplicate', 'conflict')",
            name=op.f("ck_ingest_outcomes_hourly_outcome"),
        ),
        sa.CheckConstraint("count > 0", name=op.f("ck_ingest_outcomes_hourly_positive")),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_ingest_outcomes_hourly_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        # The upsert key, tenant first (the distribution column if sharded); its prefixes
        # serve the cap on classes per (tenant, hour, source, outcome) and the reads of a
        # tenant's range of hours.
        sa.PrimaryKeyConstraint(
            "tenant_id",
            "hour",
            "source",
            "outcome",
            "reason",
            name=op.f("pk_ingest_outcomes_hourly"),
        ),
    )
    # 0008's default privileges cover tables its user creates; grant explicitly all the same,
    # in case a different login runs this migration.
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ingest_outcomes_hourly TO {APP_ROLE}")
    op.execute("ALTER TABLE ingest_outcomes_hourly ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON ingest_outcomes_hourly TO {APP_ROLE}"
        f" USING (tenant_id = {CURRENT}) WITH CHECK (tenant_id = {CURRENT})"
    )


def downgrade() -> None:
    op.execute("DROP POLICY tenant_isolation ON ingest_outcomes_hourly")
    op.drop_table("ingest_outcomes_hourly")
