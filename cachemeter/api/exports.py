"""Exports for other tools: a month's usage as FOCUS 1.0 CSV, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from cachemeter.api.deps import ReadTenant, TenantConn
from cachemeter.api.params import Month
from cachemeter.api.strict import StrictRoute
from reports.focus import focus_csv
from reports.focus_export import focus_export
from reports.statement import StatementError
from store.tenancy import tenant_transaction

router = APIRouter(tags=["exports"], route_class=StrictRoute)

CSV: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "FOCUS 1.0 rows, one per charge part, period and group (CSV).",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


@router.get("/v1/exports/focus", response_class=StreamingResponse, responses=CSV)
def get_focus(
    request: Request,
    tenant: ReadTenant,
    conn: TenantConn,
    month: Month,
    currency: Annotated[
        str | None, Query(pattern=r"^[A-Z]{3}$", description="billing currency")
    ] = None,
    period: Annotated[Literal["day", "hour"], Query(description="charge period")] = "day",
) -> StreamingResponse:
    """A month's LLM usage and explicit-cache storage as FOCUS 1.0 rows (the FinOps Open Cost
    and Usage Specification): each cache part its own row and SKU, list and contracted price
    layers, the no-cache cost and savings in x_ columns; BilledCost adds up to the statement."""
    try:
        # Checked in the request's transaction: month, currencies, FX rates (a 422 now; an
        # answer under way cannot become one).
        focus_export(conn, tenant.id, tenant.name, month, currency, period)
    except StatementError as exc:
        raise HTTPException(422, str(exc)) from None
    engine = request.app.state.engine

    def rows() -> Iterator[str]:
        # The request's transaction has ended by now: the rows are read in one of their own.
        with tenant_transaction(engine, tenant.id) as stream_conn:
            _, lines = focus_export(stream_conn, tenant.id, tenant.name, month, currency, period)
            yield from focus_csv(lines)

    return StreamingResponse(
        rows(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="focus-{month}.csv"'},
    )
