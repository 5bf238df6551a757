"""Regressions as every reader shows them: the stored row, its times as ISO strings, and the
money at risk lifted out of its details; the API, the dashboard and the CLI read this one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from store.regressions import list_regressions


def regression_view(row: Mapping[str, Any]) -> dict[str, Any]:
    """One regression (reports.schemas.RegressionOut, less its opaque id)."""
    details = row.get("details") or {}
    return {
        **row,
        "opened_at": row["opened_at"].isoformat(),
        "closed_at": row["closed_at"].isoformat() if row["closed_at"] else None,
        "cost_per_day": details.get("cost_per_day"),
        "currency": details.get("currency"),
    }


def regressions(
    conn: Connection, tenant_id: int, start: datetime, end: datetime, status: str = "all"
) -> list[dict[str, Any]]:
    """The tenant's regressions overlapping [start, end), newest first."""
    return [regression_view(row) for row in list_regressions(conn, tenant_id, start, end, status)]


def open_costs(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str, str, str], Decimal]:
    """Cost a day of open regressions per (kind, app, model, currency), summed over tenants. A
    tenant's app-wide regression and its per-cache-key ones describe the same lost reads, so
    each tenant counts the larger of the two, never both; an unpriced one counts nothing."""
    per_tenant: dict[tuple[int, str, str, str, str], dict[str, Decimal]] = {}
    for row in rows:
        details = row["details"] or {}
        if details.get("cost_per_day") is None:
            continue
        key = (row["tenant_id"], row["kind"], row["app"], row["model"], details["currency"])
        scopes = per_tenant.setdefault(key, {})
        scopes[row["scope"]] = scopes.get(row["scope"], Decimal(0)) + Decimal(
            details["cost_per_day"]
        )
    out: dict[tuple[str, str, str, str], Decimal] = {}
    for (_, kind, app, model, currency), scopes in per_tenant.items():
        labels = (kind, app, model, currency)
        out[labels] = out.get(labels, Decimal(0)) + max(scopes.values())
    return out
