"""API key scopes and expiry; the application role and row-level security. Hand-written.

Requests run their queries as `cachemeter_app` (SET LOCAL ROLE) with the tenant in the
`cachemeter.tenant_id` setting; the policies below then hide every other tenant's rows even
from a query that forgot its tenant filter. The owner (migrations, background jobs that
work across tenants) is not subject to them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 03:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

APP_ROLE = "cachemeter_app"
CURRENT = "NULLIF(current_setting('cachemeter.tenant_id', true), '')::int"
# Tables whose rows belong to one tenant (tenant_id NOT NULL).
OWNED = (
    "api_keys",
    "budgets",
    "cache_objects",
    "collector_cursors",
    "prefix_daily",
    "prefix_state",
    "provider_usage_buckets",
    "regressions",
    "reported_hourly",
    "ttft_daily",
    "usage_events",
    "usage_hourly",
    "usage_keys",
)
# Shared rows (tenant_id NULL) plus each tenant's own.
SHARED = ("prices", "reprice_runs")


def upgrade() -> None:
    op.add_column(
        "api_keys",
        sa.Column(
            "scopes",
            postgresql.ARRAY(sa.String(16)),
            nullable=False,
            # Keys made before scopes existed could ingest and read; admin must be granted.
            server_default=sa.text("ARRAY['ingest', 'read']::varchar(16)[]"),
        ),
    )
    op.add_column("api_keys", sa.Column("expires_at", sa.DateTime(timezone=True)))
    op.add_column("api_keys", sa.Column("last_used_at", sa.DateTime(timezone=True)))
    op.create_check_constraint(
        "ck_api_keys_scopes",
        "api_keys",
        "scopes <@ ARRAY['ingest', 'read', 'admin']::varchar(16)[] AND cardinality(scopes) > 0",
    )
    # Roles are cluster-wide: another database of the cluster (or the DBA, or the Helm chart's
    # CloudNativePG bootstrap) may have made it already. A user that may not create roles
    # gets told exactly what to ask for.
    op.execute(
        f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} NOLOGIN;
            END IF;
            IF NOT pg_has_role(current_user, '{APP_ROLE}', 'MEMBER') THEN
                EXECUTE format('GRANT {APP_ROLE} TO %I', current_user);
            END IF;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE EXCEPTION 'cachemeter needs the role {APP_ROLE}, and % may not create or'
                ' grant it', current_user
                USING HINT = format('As a superuser run: CREATE ROLE {APP_ROLE} NOLOGIN;'
                    ' GRANT {APP_ROLE} TO %I; then migrate again.', current_user);
        END $$
        """
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public"
        f" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}"
    )
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE}"
    )
    # Partitions do not inherit row-level security: events are reached only via the parent.
    op.execute(
        f"""
        DO $$ DECLARE part regclass; BEGIN
            FOR part IN SELECT inhrelid::regclass FROM pg_inherits
                    WHERE inhparent = 'usage_events'::regclass LOOP
                EXECUTE format('REVOKE ALL ON %s FROM {APP_ROLE}', part);
            END LOOP;
        END $$
        """
    )
    for table in OWNED:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} TO {APP_ROLE}"
            f" USING (tenant_id = {CURRENT}) WITH CHECK (tenant_id = {CURRENT})"
        )
    for table in SHARED:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} TO {APP_ROLE}"
            f" USING (tenant_id IS NULL OR tenant_id = {CURRENT})"
            f" WITH CHECK (tenant_id = {CURRENT})"
        )
    op.execute("ALTER TABLE tenants ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON tenants TO {APP_ROLE}"
        f" USING (id = {CURRENT}) WITH CHECK (id = {CURRENT})"
    )


def downgrade() -> None:
    for table in (*OWNED, *SHARED, "tenants"):
        op.execute(f"DROP POLICY tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public"
        f" REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {APP_ROLE}"
    )
    op.execute(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public"
        f" REVOKE USAGE, SELECT ON SEQUENCES FROM {APP_ROLE}"
    )
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}")
    # The role stays: other databases of the cluster may use it.
    op.drop_constraint("ck_api_keys_scopes", "api_keys", type_="check")
    op.drop_column("api_keys", "last_used_at")
    op.drop_column("api_keys", "expires_at")
    op.drop_column("api_keys", "scopes")
