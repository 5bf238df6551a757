"""The model as reported beside its canonical name (usage_events.reported_model), and the speed
a request ran at (usage_events.speed) and its sampling steps (usage_events.steps). Hand-written.

From this revision `usage_events.model` holds the canonical model name (provider prefix
dropped, dated snapshots named by their family where the family's price applies), which
reports, dashboards and metrics group by; `reported_model` keeps the name the payload or sender
gave, which prices are looked up by. Events stored before it keep their reported name in
`model` and NULL here.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 10:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No backfill (it would rewrite every stored event): an event without one was stored under
    # the name it was reported with, so readers take `model` where `reported_model` is NULL.
    op.add_column("usage_events", sa.Column("reported_model", sa.String(length=256), nullable=True))
    # The speed a request ran at (Anthropic fast mode bills premium rates): re-pricing needs it.
    op.add_column("usage_events", sa.Column("speed", sa.String(length=32), nullable=True))
    # The sampling steps a request's counts sum, with their models: re-pricing needs them.
    op.add_column("usage_events", sa.Column("steps", postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("usage_events", "steps")
    op.drop_column("usage_events", "speed")
    # The canonical names stay in `model`; the reported spelling is what is dropped.
    op.drop_column("usage_events", "reported_model")
