"""Budget endpoints: set, remove and read the status of monthly team/app budgets."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from billing.text import NoNul
from cachemeter.api.deps import AdminTenant, ReadTenant, TenantConn
from cachemeter.api.params import Name, OptionalMonth
from cachemeter.api.schemas import Done
from cachemeter.api.strict import StrictRoute
from reports.budgets import budget_status
from reports.schemas import Budgets
from reports.statement import StatementError
from store.budgets import remove_budget, set_budget

router = APIRouter(tags=["budgets"], route_class=StrictRoute)


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


@router.put("/v1/budgets", response_model=Done)
def put_budget(tenant: AdminTenant, conn: TenantConn, budget: BudgetIn) -> Any:
    """Create or replace a budget (admin scope)."""
    set_budget(
        conn,
        tenant.id,
        budget.scope,
        budget.name,
        budget.amount,
        budget.currency,
        budget.threshold_pct,
    )
    return {"status": "stored"}


@router.delete("/v1/budgets/{scope}/{name}", response_model=Done)
def delete_budget(
    tenant: AdminTenant, conn: TenantConn, scope: Literal["team", "app"], name: Name
) -> Any:
    """Remove a budget (admin scope)."""
    if not remove_budget(conn, tenant.id, scope, name):
        raise HTTPException(404, f"no {scope} budget named {name!r}")
    return {"status": "removed"}


@router.get("/v1/budgets", response_model=Budgets)
def get_budgets(
    tenant: ReadTenant,
    conn: TenantConn,
    month: OptionalMonth = None,
) -> Any:
    """Each budget's month-to-date spend, projected month end and status (ok, warning, exceeded)."""
    try:
        return budget_status(conn, tenant.id, datetime.now(UTC), month)
    except StatementError as exc:
        raise HTTPException(422, str(exc)) from None
