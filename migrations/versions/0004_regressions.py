"""Regressions: detected hit-rate and cached-TTFT drops, open until they recover.

Reviewed by hand. A partial unique index keeps one open regression per key.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 01:27:43.084891
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "regressions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("app", sa.String(length=128), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=256), nullable=False),
        sa.Column("cache_key", sa.String(length=256), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("baseline", sa.Double(), nullable=False),
        sa.Column("recent", sa.Double(), nullable=False),
        sa.Column("cause", sa.String(length=64), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.CheckConstraint("kind IN ('hit_rate', 'ttft')", name=op.f("ck_regressions_kind")),
        sa.CheckConstraint(
            "scope IN ('app_model', 'cache_key')", name=op.f("ck_regressions_scope")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_regressions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regressions")),
    )
    op.create_index(
        "ix_regressions_tenant_opened", "regressions", ["tenant_id", "opened_at"], unique=False
    )
    op.create_index(
        "uq_regressions_open",
        "regressions",
        ["tenant_id", "kind", "scope", "app", "provider", "model", "cache_key"],
        unique=True,
        postgresql_where=sa.text("closed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_regressions_open",
        table_name="regressions",
        postgresql_where=sa.text("closed_at IS NULL"),
    )
    op.drop_index("ix_regressions_tenant_opened", table_name="regressions")
    op.drop_table("regressions")
