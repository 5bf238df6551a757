"""Budget endpoints: set, remove and read the status of monthly team/app budgets."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from billing.text import NoNul
from cachemeter.api.deps import AdminTenant, ReadTenant
from store.budget_status import budget_status
from store.budgets import remove_budget, set_budget
from store.statement import StatementError
from store.tenancy import tenant_transaction

router = APIRouter(tags=["budgets"])


class BudgetIn(BaseModel):
    """A monthly budget for one team or app."""

    model_config = ConfigDict(extra="forbid")

    scope: Literal["team", "app"]
    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128), NoNul
    ]
    amount: Annotated[Decimal, Field(gt=0, lt=10**12, decimal_places=6)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    threshold_pct: Annotated[Decimal, Field(gt=0, le=100, decimal_places=2)] = Decimal(80)


@router.put("/v1/budgets")
async def put_budget(request: Request, tenant: AdminTenant, budget: BudgetIn) -> dict[str, str]:
    """Create or replace a budget (admin scope)."""

    def run() -> None:
        with tenant_transaction(request.app.state.engine, tenant.id) as conn:
            set_budget(
                conn,
                tenant.id,
                budget.scope,
                budget.name,
                budget.amount,
                budget.currency,
                budget.threshold_pct,
            )

    await run_in_threadpool(run)
    return {"status": "stored"}


@router.delete("/v1/budgets/{scope}/{name}")
async def delete_budget(
    request: Request, tenant: AdminTenant, scope: Literal["team", "app"], name: str
) -> dict[str, str]:
    """Remove a budget (admin scope)."""

    def run() -> bool:
        with tenant_transaction(request.app.state.engine, tenant.id) as conn:
            return remove_budget(conn, tenant.id, scope, name)

    if not await run_in_threadpool(run):
        raise HTTPException(404, f"no {scope} budget named {name!r}")
    return {"status": "removed"}


@router.get("/v1/budgets")
async def get_budgets(
    request: Request,
    tenant: ReadTenant,
    month: Annotated[
        str | None, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM; default: now")
    ] = None,
) -> dict[str, Any]:
    """Each budget's month-to-date spend, projected month end and status (ok, warning, exceeded)."""

    def run() -> dict[str, Any]:
        with tenant_transaction(request.app.state.engine, tenant.id) as conn:
            return budget_status(conn, tenant.id, datetime.now(UTC), month)

    try:
        return await run_in_threadpool(run)
    except StatementError as exc:
        raise HTTPException(422, str(exc)) from None
