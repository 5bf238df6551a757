"""ingest_rejections: recent rejected records per tenant, source and reason class. Hand-written.

A refused record used to be told only to its sender (for OTLP inside an HTTP 200's
partialSuccess, which exporters do not show), so nobody saw it. Ingest now keeps, per
(tenant, source, reason class), how many since the class was first seen, when it was last
seen and the latest sample error, so every API pod and the dashboard can list them. One row
per class, upserted: the table does not grow with traffic. Tenant-owned, so under the same
row-level security as the other tenant tables (migration 0008).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

APP_ROLE = "cachemeter_app"
CURRENT = "NULLIF(current_setting('cachemeter.tenant_id', true), '')::int"


def upgrade() -> None:
    op.create_table(
        "ingest_rejections",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sample_field", sa.String(length=256), nullable=False),
        sa.Column("sample_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_ingest_rejections_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        # The upsert key, tenant first (the distribution column if sharded); it also serves
        # the listing of a tenant's rows.
        sa.PrimaryKeyConstraint("tenant_id", "source", "reason", name=op.f("pk_ingest_rejections")),
    )
    # 0008's default privileges cover tables its user creates; grant explicitly all the same,
    # in case a different login runs this migration.
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ingest_rejections TO {APP_ROLE}")
    op.execute("ALTER TABLE ingest_rejections ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON ingest_rejections TO {APP_ROLE}"
        f" USING (tenant_id = {CURRENT}) WITH CHECK (tenant_id = {CURRENT})"
    )


def downgrade() -> None:
    op.execute("DROP POLICY tenant_isolation ON ingest_rejections")
    op.drop_table("ingest_rejections")
