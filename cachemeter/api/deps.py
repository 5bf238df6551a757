"""What every API route depends on: the API key's tenant, with the scope the route needs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from store.tenants import TenantRef, tenant_for_key

bearer = HTTPBearer(auto_error=False, description="An API key from `cachemeter keys create`.")


def current_tenant(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> TenantRef:
    """The tenant (and scopes) of the request's API key; 401 without a usable one."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise HTTPException(
            401,
            "missing API key: send Authorization: Bearer <key>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    with request.app.state.engine.begin() as conn:
        tenant = tenant_for_key(conn, credentials.credentials, touch=True)
    if tenant is None:
        raise HTTPException(
            401, "invalid, expired or revoked API key", headers={"WWW-Authenticate": "Bearer"}
        )
    return tenant


def require(scope: str) -> Callable[[TenantRef], TenantRef]:
    """A dependency: the request's tenant, whose key must carry `scope` (else 403)."""

    def check(tenant: Annotated[TenantRef, Depends(current_tenant)]) -> TenantRef:
        if scope not in tenant.scopes:
            raise HTTPException(
                403,
                f"this API key lacks the {scope!r} scope"
                f" (it has: {', '.join(sorted(tenant.scopes))})",
            )
        return tenant

    return check


IngestTenant = Annotated[TenantRef, Depends(require("ingest"))]
ReadTenant = Annotated[TenantRef, Depends(require("read"))]
AdminTenant = Annotated[TenantRef, Depends(require("admin"))]
