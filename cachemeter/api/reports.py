"""Report endpoints: GET /v1/reports/summary (JSON, or CSV with format=csv)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from billing.charge import money_text
from cachemeter.api.deps import ReadTenant
from reports.economics import cache_economics
from reports.reconciliation import reconciliation
from store.queries import GroupSummary, summary
from store.regressions import list_regressions
from store.statement import StatementError, statement, statement_csv
from store.tenancy import tenant_transaction
from store.tenants import TenantRef

router = APIRouter(tags=["reports"])
T = TypeVar("T")

FIELDS = (
    "group",
    "requests",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
    "currency",
    "cost",
    "nocache_cost",
    "savings",
    "token_hit_rate",
    "request_hit_rate",
    "unpriced_requests",
)


def _moment(value: str | None, name: str, default: datetime) -> datetime:
    if value is None:
        return default
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{name}: not an ISO date or time: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def read(request: Request, tenant: TenantRef, query: Callable[[Connection], T]) -> T:
    """Run a read query off the event loop, in a transaction that sees only the tenant."""

    def run() -> T:
        with tenant_transaction(request.app.state.engine, tenant.id) as conn:
            return query(conn)

    return await run_in_threadpool(run)


def time_range(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """[start, end) from query strings: end defaults to now, start to 30 days before end."""
    end_at = _moment(end, "end", datetime.now(UTC))
    start_at = _moment(start, "start", end_at - timedelta(days=30))
    if start_at >= end_at:
        raise HTTPException(422, "start must be before end")
    return start_at, end_at


def group_json(group: GroupSummary) -> dict[str, Any]:
    """One group of the summary; money as decimal strings, never mixed across currencies."""
    single = group.money[0] if len(group.money) == 1 else None
    return {
        "group": group.key,
        "requests": group.requests,
        "input_tokens": group.input_tokens,
        "cache_read_tokens": group.cache_read_tokens,
        "cache_write_tokens": group.cache_write_tokens,
        "cache_write_1h_tokens": group.cache_write_1h_tokens,
        "output_tokens": group.output_tokens,
        "currency": single.currency if single else None,
        "cost": money_text(single.cost) if single else None,
        "nocache_cost": money_text(single.nocache_cost) if single else None,
        "savings": money_text(single.savings) if single else None,
        "by_currency": [
            {
                "currency": m.currency,
                "cost": money_text(m.cost),
                "nocache_cost": money_text(m.nocache_cost),
                "savings": money_text(m.savings),
            }
            for m in group.money
        ],
        "token_hit_rate": group.token_hit_rate,
        "request_hit_rate": group.request_hit_rate,
        "unpriced_requests": group.unpriced_requests,
    }


# Every report's range: [start, end), read by time_range.
Start = Annotated[
    str | None,
    Query(description="ISO date or time (UTC if no zone); default: 30 days before end"),
]
End = Annotated[str | None, Query(description="ISO date or time, exclusive; default: now")]

JSON_OR_CSV: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON, or CSV with format=csv.",
        "content": {"application/json": {}, "text/csv": {"schema": {"type": "string"}}},
    }
}


@router.get("/v1/reports/summary", responses=JSON_OR_CSV)
async def get_summary(
    request: Request,
    tenant: ReadTenant,
    start: Start = None,
    end: End = None,
    group_by: Literal["provider", "model", "app", "team", "environment", "day"] = "provider",
    format: Literal["json", "csv"] = "json",
) -> Response:
    """Requests, tokens, cost, no-cache cost, savings and hit rates per group over [start, end)."""
    start_at, end_at = time_range(start, end)

    groups = [
        group_json(g)
        for g in await read(
            request, tenant, lambda conn: summary(conn, tenant.id, start_at, end_at, group_by)
        )
    ]
    if format == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(groups)
        return Response(
            out.getvalue(),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="summary.csv"'},
        )
    return JSONResponse(
        {
            "start": start_at.isoformat(),
            "end": end_at.isoformat(),
            "group_by": group_by,
            "groups": groups,
        }
    )


@router.get("/v1/reports/statement", responses=JSON_OR_CSV)
async def get_statement(
    request: Request,
    tenant: ReadTenant,
    month: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM (UTC)")],
    group_by: Literal["team", "app", "model", "provider", "environment"] = "team",
    currency: Annotated[
        str | None, Query(pattern=r"^[A-Z]{3}$", description="reporting currency")
    ] = None,
    format: Literal["json", "csv"] = "json",
) -> Response:
    """A month's finance statement: cost by part (incl. explicit-cache storage), no-cache
    cost, savings, effective discount and write premium per group; totals = sum of groups."""

    try:
        body = await read(
            request, tenant, lambda conn: statement(conn, tenant.id, month, group_by, currency)
        )
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
    return JSONResponse(body)


@router.get("/v1/reports/reconciliation")
async def get_reconciliation(
    request: Request,
    tenant: ReadTenant,
    start: Start = None,
    end: End = None,
    tolerance_pct: Annotated[Decimal, Query(ge=0, le=100)] = Decimal("1"),
    tolerance_abs: Annotated[Decimal, Query(ge=0)] = Decimal("0.000001"),
) -> JSONResponse:
    """Groups whose computed cost differs from the source's reported charge (OpenRouter
    `usage.cost`, LiteLLM `response_cost`, or a record's `reported_cost`), with the likely cause."""
    start_at, end_at = time_range(start, end)

    return JSONResponse(
        await read(
            request,
            tenant,
            lambda conn: reconciliation(
                conn, tenant, start_at, end_at, tolerance_pct, tolerance_abs
            ),
        )
    )


@router.get("/v1/reports/cache-economics")
async def get_cache_economics(
    request: Request,
    tenant: ReadTenant,
    start: Start = None,
    end: End = None,
) -> JSONResponse:
    """Per (app, prefix, model): writes, reads, reads per write, break-even reads, net
    savings; prefixes where caching loses money; what 1-hour writes would have changed."""
    start_at, end_at = time_range(start, end)

    return JSONResponse(
        await read(request, tenant, lambda conn: cache_economics(conn, tenant, start_at, end_at))
    )


@router.get("/v1/regressions")
async def get_regressions(
    request: Request,
    tenant: ReadTenant,
    status: Literal["open", "closed", "all"] = "all",
    start: Start = None,
    end: End = None,
) -> JSONResponse:
    """Detected hit-rate and cached-TTFT regressions overlapping [start, end), newest first,
    with their likely cause."""
    start_at, end_at = time_range(start, end)

    return JSONResponse(
        {
            "regressions": await read(
                request,
                tenant,
                lambda conn: list_regressions(conn, tenant.id, start_at, end_at, status),
            )
        }
    )
