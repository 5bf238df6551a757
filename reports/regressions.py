"""Regressions as every reader shows them: the stored row, its times as ISO strings, and the
money at risk lifted out of its details; the API, the dashboard and the CLI read this one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from store.regressions import list_regressions


def regression_view(row: Mapping[str, Any]) -> dict[str, Any]:
    """One regression (reports.schemas.RegressionOut, less its opaque id)."""
    details = row.get("details") or {}
    return {
        **row,
        "opened_at": _iso(row["opened_at"]),
        "closed_at": _iso(row["closed_at"]),
        "cost_per_day": details.get("cost_per_day"),
        "currency": details.get("currency"),
    }


def regressions(
    conn: Connection, tenant_id: int, start: datetime, end: datetime, status: str = "all"
) -> list[dict[str, Any]]:
    """The tenant's regressions overlapping [start, end), newest first."""
    return [regression_view(row) for row in list_regressions(conn, tenant_id, start, end, status)]


def _iso(moment: datetime | str | None) -> str | None:
    return moment.isoformat() if isinstance(moment, datetime) else moment
