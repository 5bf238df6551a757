"""Rollup money columns hold sums: numeric(38, 12) instead of an event's numeric(24, 12).
Hand-written.

An event's amount is checked against numeric(24, 12) (below 10^12) before it is stored, but
a rollup row sums every event of its hour (or day) and key: a thousand events of 10^9 each
overflowed it, failing every later batch of that hour. A wider precision at the same scale
needs no table rewrite.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 22:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

TOTALS = {
    "usage_hourly": (
        "cost_uncached_input",
        "cost_cache_read",
        "cost_cache_write_5m",
        "cost_cache_write_1h",
        "cost_output",
        "cost_tool_fees",
        "cost",
        "nocache_cost",
        "savings",
        "write_premium",
    ),
    "reported_hourly": (
        "reported",
        "computed",
        "cost_cache_read",
        "cost_cache_write_5m",
        "cost_cache_write_1h",
    ),
    "prefix_hourly": ("cost", "savings", "write_premium"),
    "prefix_daily": ("cost", "nocache_cost"),
}


def _alter(precision: int) -> None:
    for table, columns in TOTALS.items():
        changes = ", ".join(
            f"ALTER COLUMN {column} TYPE numeric({precision}, 12)" for column in columns
        )
        op.execute(f"ALTER TABLE {table} {changes}")


def upgrade() -> None:
    _alter(38)


def downgrade() -> None:
    # Fails (numeric field overflow) where a sum no longer fits, so nothing is truncated;
    # narrowing rewrites the tables.
    _alter(24)
