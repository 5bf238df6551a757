"""Admin routes (admin scope): the tenant's API keys, its negotiated prices, re-pricing.

Catalogue-wide prices (every tenant's) stay with the operator: `cachemeter prices …`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from starlette.concurrency import run_in_threadpool

from billing.catalogue import PriceSpec
from billing.moments import Moment
from billing.text import NoNul
from cachemeter.api.deps import AdminTenant, ReadTenant, TenantConn
from cachemeter.api.opaque import opaque_id
from cachemeter.api.params import KeyPrefix
from cachemeter.api.schemas import (
    KeyCreated,
    KeyRevoked,
    KeyRotated,
    Keys,
    Prices,
    PriceStored,
)
from cachemeter.api.strict import StrictRoute, read_json
from ingest.envelope import describe_validation_error
from reports.reprice import reprice
from reports.schemas import Reprice
from store.limits import ColumnLimit
from store.prices import PriceConflict, add_price, list_prices
from store.tenants import (
    SCOPES,
    KeyInfo,
    check_scopes,
    create_key,
    list_keys,
    revoke_key,
    rotate_key,
)

router = APIRouter(tags=["admin"], route_class=StrictRoute)
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128), NoNul]


class KeyIn(BaseModel):
    """A key to create: a name to recognise it by and its scopes."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    scopes: list[Literal["ingest", "read", "admin"]] = Field(
        default=["ingest", "read"], min_length=1, max_length=len(SCOPES)
    )


class RotateIn(BaseModel):
    """How long the old key keeps working once its replacement exists."""

    model_config = ConfigDict(extra="forbid")

    grace_hours: float = Field(default=24, ge=0, le=24 * 90)


class RepriceIn(BaseModel):
    """The range (and optionally provider/model) to re-price, and why."""

    model_config = ConfigDict(extra="forbid")

    start: Moment
    end: Moment
    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), NoNul
    ]
    provider: Annotated[str, StringConstraints(max_length=64), NoNul] | None = None
    model: Annotated[str, StringConstraints(max_length=256), NoNul] | None = None
    dry_run: bool = False


def _key_json(info: KeyInfo) -> dict[str, Any]:
    return {
        "prefix": info.prefix,
        "name": info.name,
        "scopes": list(info.scopes),
        "created_at": info.created_at.isoformat(),
        "expires_at": info.expires_at.isoformat() if info.expires_at else None,
        "revoked_at": info.revoked_at.isoformat() if info.revoked_at else None,
        "last_used_at": info.last_used_at.isoformat() if info.last_used_at else None,
    }


@router.get("/v1/keys", response_model=Keys)
def get_keys(tenant: AdminTenant, conn: TenantConn) -> Any:
    """The tenant's API keys (prefixes only; a key is shown once, when created)."""
    return {"keys": [_key_json(k) for k in list_keys(conn, tenant.id)]}


@router.post("/v1/keys", status_code=201, response_model=KeyCreated)
def post_key(tenant: AdminTenant, conn: TenantConn, body: KeyIn) -> Any:
    """A new key for the tenant; the response is the only place the key ever appears."""
    try:
        scopes = check_scopes(body.scopes)
    except ValueError as exc:
        raise HTTPException(422, f"scopes: {exc}") from None
    key = create_key(conn, tenant, body.name, scopes)
    return {"key": key, "prefix": key[:10], "name": body.name, "scopes": list(scopes)}


@router.post("/v1/keys/{prefix}/rotate", status_code=201, response_model=KeyRotated)
def post_rotate(
    tenant: AdminTenant, conn: TenantConn, prefix: KeyPrefix, body: RotateIn | None = None
) -> Any:
    """A replacement for key `prefix` with its name and scopes; the old key keeps working for
    `grace_hours` (default 24) so clients can switch without downtime."""
    grace = timedelta(hours=(body or RotateIn()).grace_hours)
    rotated = rotate_key(conn, tenant.id, prefix, grace)
    if rotated is None:
        raise HTTPException(404, f"no usable key starting {prefix[:10]!r}")
    key, old = rotated
    return {"key": key, "prefix": key[:10], "scopes": list(old.scopes), "old": _key_json(old)}


@router.delete("/v1/keys/{prefix}", response_model=KeyRevoked)
def delete_key(tenant: AdminTenant, conn: TenantConn, prefix: KeyPrefix) -> Any:
    """Revoke the tenant's key `prefix` at once."""
    if not revoke_key(conn, prefix, tenant.id):
        raise HTTPException(404, f"no active key starting {prefix[:10]!r}")
    return {"revoked": prefix[:10]}


@router.get("/v1/prices", response_model=Prices)
def get_prices(request: Request, tenant: ReadTenant, conn: TenantConn) -> Any:
    """Stored prices that apply to the tenant: the shared catalogue and its negotiated ones."""
    key = request.app.state.id_key
    return {
        "prices": [
            {**p, "id": opaque_id("price", p["id"], key)}
            for p in list_prices(conn)
            if p["tenant"] in (None, tenant.name)
        ]
    }


@router.post("/v1/prices", status_code=201, response_model=PriceStored)
async def post_price(request: Request, tenant: AdminTenant, conn: TenantConn) -> Any:
    """Store a negotiated price for the tenant (a PriceSpec; `tenant` is implied). Existing
    events keep their charges until re-priced."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise HTTPException(422, "body must be a JSON object (a price)")
    if body.get("tenant") not in (None, tenant.name):
        raise HTTPException(403, "tenant: a key can only set its own tenant's prices")
    try:
        spec = PriceSpec.model_validate({**body, "tenant": tenant.name})
    except ValidationError as exc:
        raise HTTPException(422, describe_validation_error(exc.errors())) from None
    try:
        # The body is read here (raw, to name a foreign tenant with 403); the insert is
        # blocking, so off the event loop.
        price_id = await run_in_threadpool(add_price, conn, spec)
    except PriceConflict as exc:
        raise HTTPException(409, str(exc)) from None
    except ColumnLimit as exc:
        raise HTTPException(422, str(exc)) from None
    return {"id": opaque_id("price", price_id, request.app.state.id_key)}


@router.post("/v1/reprice", response_model=Reprice)
def post_reprice(request: Request, tenant: AdminTenant, body: RepriceIn) -> Any:
    """Re-compute the tenant's stored charges in [start, end) with the prices now in force;
    audited (actor = the key's prefix). `dry_run` reports without changing anything."""
    if body.end <= body.start:
        raise HTTPException(422, "end: must be after start")
    # Re-pricing pages through the range in transactions of its own.
    report = reprice(
        request.app.state.engine,
        start=body.start,
        end=body.end,
        actor=f"api key {tenant.key_prefix}",
        reason=body.reason,
        provider=body.provider,
        model=body.model,
        tenant=tenant.name,
        dry_run=body.dry_run,
    )
    run = report.run_id
    return {
        **report.as_dict(),
        "run": opaque_id("reprice", run, request.app.state.id_key) if run else None,
    }
