"""Report endpoints: summary and statement (JSON, or CSV with format=csv), reconciliation, cache
economics and regressions; each reads in one transaction that sees only the tenant."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel

from billing.charge import money_text
from cachemeter.api.deps import ReadTenant, TenantConn
from reports.economics import cache_economics
from reports.reconciliation import reconciliation
from reports.schemas import CacheEconomics, Reconciliation, Regressions, Statement, Summary
from store.queries import GroupSummary, summary
from store.regressions import list_regressions
from store.statement import StatementError, statement, statement_csv

router = APIRouter(tags=["reports"])

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
    """Requests, tokens, cost, no-cache cost, savings and hit rates per group over [start, end)."""
    start_at, end_at = time_range(start, end)

    groups = [group_json(g) for g in summary(conn, tenant.id, start_at, end_at, group_by)]
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
    return {
        "start": start_at.isoformat(),
        "end": end_at.isoformat(),
        "group_by": group_by,
        "groups": groups,
    }


@router.get("/v1/reports/statement", response_model=Statement, responses=json_or_csv(Statement))
def get_statement(
    tenant: ReadTenant,
    conn: TenantConn,
    month: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM (UTC)")],
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


@router.get("/v1/regressions", response_model=Regressions)
def get_regressions(
    tenant: ReadTenant,
    conn: TenantConn,
    status: Literal["open", "closed", "all"] = "all",
    start: Start = None,
    end: End = None,
) -> Any:
    """Detected hit-rate and cached-TTFT regressions overlapping [start, end), newest first,
    with their likely cause."""
    start_at, end_at = time_range(start, end)

    return {"regressions": list_regressions(conn, tenant.id, start_at, end_at, status)}
