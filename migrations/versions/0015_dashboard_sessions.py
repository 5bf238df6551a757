"""dashboard_sessions: server-side dashboard sign-ins, bound to the API key used. Hand-written.

The dashboard's signed cookie used to carry the tenant alone, valid for 31 days whatever
happened to the key behind it, and sign-out only dropped the browser's copy. Now the cookie
carries a random token whose SHA-256 is a row here, with the key that signed in: each request
checks the row (not signed out, within its idle and absolute limits) and the key (not revoked,
not expired, which includes a key rotated out once its grace ends). Tenant-owned, so under
the same row-level security as the other tenant tables (migration 0008); the check itself runs
as the owner, like the API key lookup, since it is what finds the tenant.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

APP_ROLE = "cachemeter_app"
CURRENT = "NULLIF(current_setting('cachemeter.tenant_id', true), '')::int"


def upgrade() -> None:
    op.create_table(
        "dashboard_sessions",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_dashboard_sessions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["api_keys.id"],
            name=op.f("fk_dashboard_sessions_key_id_api_keys"),
            ondelete="CASCADE",
        ),
        # The per-request lookup (tenant from the signed cookie, then the token), tenant
        # first (the distribution column if sharded); it also serves the sign-in purge.
        sa.PrimaryKeyConstraint("tenant_id", "token_hash", name=op.f("pk_dashboard_sessions")),
    )
    # 0008's default privileges cover tables its user creates; grant explicitly all the same,
    # in case a different login runs this migration.
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON dashboard_sessions TO {APP_ROLE}")
    op.execute("ALTER TABLE dashboard_sessions ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON dashboard_sessions TO {APP_ROLE}"
        f" USING (tenant_id = {CURRENT}) WITH CHECK (tenant_id = {CURRENT})"
    )


def downgrade() -> None:
    op.execute("DROP POLICY tenant_isolation ON dashboard_sessions")
    op.drop_table("dashboard_sessions")
