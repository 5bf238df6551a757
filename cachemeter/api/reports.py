"""Report endpoints: summary and statement (JSON, or CSV with format=csv), reconciliation, cache
economics and regressions; each reads in one transaction that sees only the tenant."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from cachemeter.api.deps import AdminTenant, ReadTenant, TenantConn
from cachemeter.api.opaque import opaque_id
from cachemeter.api.params import End, Month, OpaqueId, Start, time_range
from cachemeter.api.strict import StrictRoute
from cachemeter.config import advice_settings
from reports.advice import advice
from reports.economics import cache_economics
from reports.reconciliation import reconciliation
from reports.regressions import regression_view, regressions
from reports.schemas import (
    Advice,
    CacheEconomics,
    Reconciliation,
    RegressionOut,
    Regressions,
    Statement,
    Summary,
)
from reports.statement import StatementError, statement, statement_csv
from reports.summary import summary_body, summary_csv
from store.regressions import acknowledge_regression, open_regressions

router = APIRouter(tags=["reports"], route_class=StrictRoute)


def json_or_csv(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """A 200 that is `model` as JSON, or CSV with format=csv."""
    return {
        200: {
            "model": model,
            "description": "JSON, or CSV with format=csv.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }


@router.get("/v1/reports/summary", response_model=Summary, responses=json_or_csv(Summary))
def get_summary(
    tenant: ReadTenant,
    conn: TenantConn,
    start: Start = None,
    end: End = None,
    group_by: Literal["provider", "model", "app", "team", "environment", "day"] = "provider",
    format: Literal["json", "csv"] = "json",
) -> Any:
    """Requests, tokens, cost (explicit-cache storage included), no-cache cost, savings and hit
    rates per group over [start, end)."""
    start_at, end_at = time_range(start, end)
    body = summary_body(conn, tenant.id, start_at, end_at, group_by)
    if format == "csv":
        return Response(
            summary_csv(body),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="summary.csv"'},
        )
    return body


@router.get("/v1/reports/statement", response_model=Statement, responses=json_or_csv(Statement))
def get_statement(
    tenant: ReadTenant,
    conn: TenantConn,
    month: Month,
    group_by: Literal["team", "app", "model", "provider", "environment"] = "team",
    currency: Annotated[
        str | None, Query(pattern=r"^[A-Z]{3}$", description="reporting currency")
    ] = None,
    format: Literal["json", "csv"] = "json",
) -> Any:
    """A month's finance statement: cost by part (incl. explicit-cache storage), no-cache
    cost, savings, effective discount and write premium per group; totals = sum of groups."""

    try:
        body = statement(conn, tenant.id, month, group_by, currency)
    except StatementError as exc:
        raise HTTPException(422, str(exc)) from None
    if format == "csv":
        return Response(
            statement_csv(body),
            media_type="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="statement-{month}-{group_by}.csv"'
            },
        )
    return body


@router.get("/v1/reports/reconciliation", response_model=Reconciliation)
def get_reconciliation(
    tenant: ReadTenant,
    conn: TenantConn,
    start: Start = None,
    end: End = None,
    tolerance_pct: Annotated[Decimal, Query(ge=0, le=100)] = Decimal("1"),
    tolerance_abs: Annotated[Decimal, Query(ge=0)] = Decimal("0.000001"),
) -> Any:
    """Groups whose computed cost differs from the source's reported charge (OpenRouter
    `usage.cost`, LiteLLM `response_cost`, or a record's `reported_cost`), with the likely cause."""
    start_at, end_at = time_range(start, end)

    return reconciliation(conn, tenant, start_at, end_at, tolerance_pct, tolerance_abs)


@router.get("/v1/reports/cache-economics", response_model=CacheEconomics)
def get_cache_economics(
    tenant: ReadTenant,
    conn: TenantConn,
    start: Start = None,
    end: End = None,
) -> Any:
    """Per (app, prefix, model): writes, reads, reads per write, break-even reads, net
    savings; prefixes where caching loses money; what 1-hour writes would have changed."""
    start_at, end_at = time_range(start, end)

    return cache_economics(conn, tenant, start_at, end_at)


@router.get("/v1/reports/advice", response_model=Advice)
def get_advice(
    request: Request,
    tenant: ReadTenant,
    conn: TenantConn,
    start: Start = None,
    end: End = None,
    app: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    min_saving: Annotated[
        Decimal | None,
        Query(
            ge=0,
            le=10**9,
            allow_inf_nan=False,
            description="show findings saving at least this a month (default: the setting)",
        ),
    ] = None,
    min_requests: Annotated[
        int | None,
        Query(ge=1, le=10**9, description="evidence needed (default: the setting)"),
    ] = None,
) -> Any:
    """The cache advisor: what to change, per app and prefix, ranked by what it would save a
    month at the prices in force at `end`, each with its evidence and how the saving was
    computed."""
    start_at, end_at = time_range(start, end)
    thresholds = advice_settings(request.app.state.settings, min_saving, min_requests)
    return advice(conn, tenant, start_at, end_at, app, thresholds)


@router.get("/v1/regressions", response_model=Regressions)
def get_regressions(
    request: Request,
    tenant: ReadTenant,
    conn: TenantConn,
    status: Literal["open", "closed", "all"] = "all",
    start: Start = None,
    end: End = None,
) -> Any:
    """Detected hit-rate and cached-TTFT regressions overlapping [start, end), newest first,
    with their likely cause."""
    start_at, end_at = time_range(start, end)

    key = request.app.state.id_key
    found = regressions(conn, tenant.id, start_at, end_at, status)
    return {"regressions": [{**r, "id": opaque_id("regression", r["id"], key)} for r in found]}


@router.post("/v1/regressions/{regression_id}/acknowledge", response_model=RegressionOut)
def post_acknowledge(
    request: Request, tenant: AdminTenant, conn: TenantConn, regression_id: OpaqueId
) -> Any:
    """Close an open regression by hand: its rate is the new normal, so its key's baseline
    starts now (no regression reopens against the rate before it). 404 if not open."""
    key = request.app.state.id_key
    for found in open_regressions(conn, tenant.id):
        if hmac.compare_digest(opaque_id("regression", found.id, key), regression_id):
            closed = acknowledge_regression(
                conn, tenant.id, found.id, datetime.now(UTC), f"api key {tenant.key_prefix}"
            )
            if closed is not None:
                return {**regression_view(closed), "id": regression_id}
    raise HTTPException(404, f"no open regression {regression_id[:40]!r}")
