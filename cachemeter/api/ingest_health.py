"""Ingest health: GET /v1/ingest/rejections, the records refused at ingest by source and reason
class, and GET /v1/ingest/outcomes, the records refused, duplicate or in conflict over time
(read scope, the tenant's own only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from cachemeter.api.deps import ReadTenant, TenantConn
from cachemeter.api.params import Bucket, End, Start, time_range
from cachemeter.api.strict import StrictRoute
from reports.rejections import ingest_outcomes, ingest_rejections
from reports.schemas import IngestOutcomes, IngestRejections

router = APIRouter(tags=["reports"], route_class=StrictRoute)

Source = Annotated[
    str | None,
    Query(
        pattern=r"^[a-z0-9_-]{1,32}$",
        description="only this source: push, otlp, file, litellm, …; default: every source",
    ),
]


@router.get("/v1/ingest/rejections", response_model=IngestRejections)
def get_rejections(
    tenant: ReadTenant,
    conn: TenantConn,
    start: Start = None,
    end: End = None,
    source: Source = None,
) -> Any:
    """Reason classes of refused records seen in [start, end), most recently seen first: per
    class the count since it was first seen, first and last seen, and the latest sample
    error; and their sums per source."""
    start_at, end_at = time_range(start, end)
    return ingest_rejections(conn, tenant.id, start_at, end_at, source)


@router.get("/v1/ingest/outcomes", response_model=IngestOutcomes)
def get_outcomes(
    tenant: ReadTenant,
    conn: TenantConn,
    start: Start = None,
    end: End = None,
    source: Source = None,
    bucket: Bucket = "hour",
) -> Any:
    """Records not stored as new, per hour (or day) they arrived in, source, outcome (rejected,
    duplicate, conflict) and reason class, over the hours that start in [start, end); their
    totals; and the latest conflicts (request id and what differed), newest first."""
    start_at, end_at = time_range(start, end)
    return ingest_outcomes(conn, tenant.id, start_at, end_at, bucket, source)
