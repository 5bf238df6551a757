"""Ingest routes: POST /v1/usage (one record or {"records": [...]}), /v1/caches, /v1/traces."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from starlette.concurrency import run_in_threadpool

from cachemeter.api.deps import BasicIngestTenant, IngestTenant
from cachemeter.api.schemas import CachesResult, IngestResult, TraceExportResponse
from cachemeter.api.strict import StrictRoute, read_json
from ingest.caches import CacheIn
from ingest.content_encoding import status_of
from ingest.envelope import BatchIn, RecordIn
from ingest.errors import PayloadError
from ingest.otlp import decode, is_json, to_record
from ingest.service import Ingestor
from store.tenants import TenantRef


async def batch_items(request: Request, key: str, noun: str) -> list[Any]:
    """The items of a body that is one object or {key: [objects]}, within the batch limit."""
    # Depth is checked per item (Ingestor): one record nested too deep rejects only itself.
    body = await read_json(request, max_depth=None)
    # Whether the body was a batch: a single record's conflict is answered 409, a batch's listed.
    request.state.batch = isinstance(body, dict) and key in body
    if isinstance(body, dict) and key in body:
        if set(body) != {key} or not isinstance(body[key], list):
            raise HTTPException(422, f'a batch is {{"{key}": [{noun}, ...]}} and nothing else')
        items: list[Any] = body[key]
    elif isinstance(body, dict):
        items = [body]
    else:
        raise HTTPException(422, f'body must be a {noun} object or {{"{key}": [...]}}')
    limit = request.app.state.settings.max_batch
    if len(items) > limit:
        raise HTTPException(413, f"batch has {len(items)} {key}; the limit is {limit}")
    if not items:
        raise HTTPException(422, f"{key}: empty batch")
    return items


router = APIRouter(tags=["ingest"], route_class=StrictRoute)


def one_or_batch(one: dict[str, Any], batch: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI request body of a route that takes one item or a batch of them."""
    content = {"application/json": {"schema": {"oneOf": [one, batch]}}}
    return {"requestBody": {"required": True, "content": content}}


_BODY_SCHEMA = one_or_batch(
    {"$ref": "#/components/schemas/RecordIn"}, {"$ref": "#/components/schemas/BatchIn"}
)


@router.post(
    "/v1/usage",
    openapi_extra=_BODY_SCHEMA,
    response_model=IngestResult,
    responses={
        200: {"description": "Stored (some records may be listed as rejected or conflicting)."},
        401: {"description": "Missing or invalid API key."},
        409: {"description": "One record whose request id is stored with other usage."},
        413: {"description": "Batch larger than CACHEMETER_MAX_BATCH."},
        422: {"description": "Nothing stored: every record was rejected; reasons name the field."},
    },
)
async def post_usage(request: Request, tenant: IngestTenant) -> JSONResponse:
    """Store one record or a batch; duplicates (same source + request_id) are stored once."""
    records = await batch_items(request, "records", "record")
    ingestor: Ingestor = request.app.state.ingestor
    # The database work is blocking; keep it off the event loop.
    result = await run_in_threadpool(
        ingestor.ingest, tenant, records, source="push", received_at=datetime.now(UTC)
    )
    status = 422 if result.rejected and not (result.accepted or result.duplicates) else 200
    if result.conflicts and not request.state.batch:
        # One record whose request id is stored with other numbers: like a reused
        # idempotency key, refused (a batch lists its conflicts and stores the rest).
        raise HTTPException(409, result.conflicts[0].error)
    return JSONResponse(result.as_dict(), status_code=status)


def openapi_schemas() -> dict[str, Any]:
    """Component schemas the /v1/usage body refers to (validated per record, not by FastAPI)."""
    ref = "#/components/schemas/{model}"
    record = RecordIn.model_json_schema(ref_template=ref)
    # Exactly one payload: the usage object or the whole response (a rule pydantic checks).
    record["oneOf"] = [{"required": ["usage"]}, {"required": ["response"]}]
    return {
        "CacheIn": CacheIn.model_json_schema(ref_template=ref),
        "RecordIn": record,
        "BatchIn": {
            k: v for k, v in BatchIn.model_json_schema(ref_template=ref).items() if k != "$defs"
        }
        | {
            "properties": {
                "records": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"$ref": ref.format(model="RecordIn")},
                }
            }
        },
    }


@router.post(
    "/v1/caches",
    openapi_extra=one_or_batch(
        {"$ref": "#/components/schemas/CacheIn"},
        {
            "type": "object",
            "required": ["caches"],
            "additionalProperties": False,
            "properties": {
                "caches": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"$ref": "#/components/schemas/CacheIn"},
                }
            },
        },
    ),
    response_model=CachesResult,
)
async def post_caches(request: Request, tenant: IngestTenant) -> JSONResponse:
    """Record explicit caches (e.g. Gemini cachedContents); their storage is billed per
    MTok-hour from creation to expiry. Re-sending a cache (same name) updates it."""
    items = await batch_items(request, "caches", "cache")
    ingestor: Ingestor = request.app.state.ingestor
    result = await run_in_threadpool(ingestor.ingest_caches, tenant, items, datetime.now(UTC))
    status = 422 if result["rejected"] and not (result["stored"] or result["updated"]) else 200
    return JSONResponse(result, status_code=status)


def otlp_body(json_list: str) -> dict[str, Any]:
    """The OpenAPI request body of an OTLP/HTTP export: protobuf, or OTLP/JSON whose top-level
    list is `json_list` (an empty export is valid OTLP)."""
    export = {
        "type": "object",
        # The protobuf JSON mapping reads null as the field's default (an empty list).
        "properties": {json_list: {"type": ["array", "null"], "items": {"type": "object"}}},
    }
    content = {
        "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
        "application/json": {"schema": export},
    }
    return {"requestBody": {"required": True, "content": content}}


_OTLP_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "OTLP ExportTraceServiceResponse, in the request's encoding.",
        "content": {"application/x-protobuf": {"schema": {"type": "string"}}},
    }
}


@router.post(
    "/v1/traces",
    response_model=TraceExportResponse,
    responses=_OTLP_RESPONSES,
    openapi_extra=otlp_body("resourceSpans"),
)
async def post_traces(request: Request, tenant: IngestTenant) -> Response:
    """OTLP/HTTP trace receiver: GenAI spans become usage records; other spans are ignored.

    Accepts application/x-protobuf or application/json, optionally gzip; answers in kind,
    with partialSuccess counting rejected GenAI spans.
    """
    return await _receive_traces(request, tenant)


@router.post(
    "/api/public/otel/v1/traces",
    response_model=TraceExportResponse,
    responses=_OTLP_RESPONSES,
    openapi_extra=otlp_body("resourceSpans"),
)
async def post_langfuse_traces(request: Request, tenant: BasicIngestTenant) -> Response:
    """The Langfuse SDK's OTLP export, unchanged: point the SDK's host at cachemeter.

    Basic auth as the SDK sends it (public key : secret key): the secret key is a cachemeter API
    key with the ingest scope; the public key is not checked.
    """
    return await _receive_traces(request, tenant)


async def _receive_traces(request: Request, tenant: TenantRef) -> Response:
    content_type = request.headers.get("content-type", "")
    try:
        spans = decode(await request.body(), content_type, request.headers.get("content-encoding"))
    except PayloadError as exc:
        raise HTTPException(status_of(exc), str(exc)) from None
    records = [r for r in (to_record(s) for s in spans) if r is not None]
    ingestor: Ingestor = request.app.state.ingestor
    limit = request.app.state.settings.max_batch
    errors: list[str] = []
    for start in range(0, len(records), limit):
        result = await run_in_threadpool(
            ingestor.ingest,
            tenant,
            records[start : start + limit],
            source="otlp",
            received_at=datetime.now(UTC),
        )
        errors.extend(r.error for r in result.rejected)
    message = "; ".join(errors[:3])
    if is_json(content_type):
        partial = {"rejectedSpans": str(len(errors)), "errorMessage": message}
        return JSONResponse({"partialSuccess": partial} if errors else {})
    response = ExportTraceServiceResponse()
    if errors:
        response.partial_success.rejected_spans = len(errors)
        response.partial_success.error_message = message
    return Response(response.SerializeToString(), media_type="application/x-protobuf")
