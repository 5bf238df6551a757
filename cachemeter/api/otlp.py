"""OTLP/HTTP logs and metrics receivers (POST /v1/logs, /v1/metrics): answered like /v1/traces
(same key, same body limit, the request's encoding), their content dropped: they carry no
usage, but exporters that send all three signals to one endpoint should not see 404s."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from cachemeter.api.deps import IngestTenant
from cachemeter.api.ingest import otlp_body
from cachemeter.api.schemas import LogsExportResponse, MetricsExportResponse
from cachemeter.api.strict import StrictRoute
from ingest.content_encoding import status_of
from ingest.errors import PayloadError
from ingest.otlp import is_json
from ingest.otlp_signals import LOGS, METRICS, Signal, check_export, empty_response

router = APIRouter(tags=["ingest"], route_class=StrictRoute)


def _responses(message: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": f"OTLP {message}, in the request's encoding; the export is dropped.",
            "content": {"application/x-protobuf": {"schema": {"type": "string"}}},
        }
    }


async def _answer(request: Request, signal: Signal) -> Response:
    content_type = request.headers.get("content-type", "")
    body = await request.body()
    try:
        # Parsing a large export is CPU work: off the event loop.
        await run_in_threadpool(
            check_export, signal, body, content_type, request.headers.get("content-encoding")
        )
    except PayloadError as exc:
        raise HTTPException(status_of(exc), str(exc)) from None
    if is_json(content_type):
        return JSONResponse({})
    return Response(empty_response(signal), media_type="application/x-protobuf")


@router.post(
    "/v1/logs",
    response_model=LogsExportResponse,
    responses=_responses("ExportLogsServiceResponse"),
    openapi_extra=otlp_body(LOGS.json_list),
)
async def post_logs(request: Request, tenant: IngestTenant) -> Response:
    """OTLP/HTTP logs receiver: application/x-protobuf or application/json, optionally gzip;
    the logs are not kept (they carry no token usage)."""
    return await _answer(request, LOGS)


@router.post(
    "/v1/metrics",
    response_model=MetricsExportResponse,
    responses=_responses("ExportMetricsServiceResponse"),
    openapi_extra=otlp_body(METRICS.json_list),
)
async def post_metrics(request: Request, tenant: IngestTenant) -> Response:
    """OTLP/HTTP metrics receiver: application/x-protobuf or application/json, optionally
    gzip; the metrics are not kept (usage is read from GenAI spans at /v1/traces)."""
    return await _answer(request, METRICS)
