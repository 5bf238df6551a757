"""What the API routes depend on: the API key's tenant (with the scope the route needs) and a
transaction that sees only that tenant."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection

from store.tenancy import tenant_transaction
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


def basic_auth_tenant(request: Request) -> TenantRef:
    """The tenant of a Basic-auth request whose password is an API key (the public-key:secret-key
    pair the Langfuse SDK sends: the public key is not checked, the secret key must be a
    cachemeter API key with the ingest scope), or of a Bearer key; 401 otherwise."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    key = value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(key, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        key = decoded.partition(":")[2]
    elif scheme.lower() != "bearer":
        key = ""
    if not key:
        raise HTTPException(
            401,
            "missing API key: send Basic auth with an API key as the password (the Langfuse"
            " SDK's secret key), or Authorization: Bearer <key>",
            headers={"WWW-Authenticate": 'Basic realm="cachemeter"'},
        )
    with request.app.state.engine.begin() as conn:
        tenant = tenant_for_key(conn, key, touch=True)
    if tenant is None:
        raise HTTPException(
            401,
            "invalid, expired or revoked API key",
            headers={"WWW-Authenticate": 'Basic realm="cachemeter"'},
        )
    if "ingest" not in tenant.scopes:
        raise HTTPException(403, "this API key lacks the 'ingest' scope")
    return tenant


IngestTenant = Annotated[TenantRef, Depends(require("ingest"))]
BasicIngestTenant = Annotated[TenantRef, Depends(basic_auth_tenant)]
ReadTenant = Annotated[TenantRef, Depends(require("read"))]
AdminTenant = Annotated[TenantRef, Depends(require("admin"))]


def tenant_connection(
    request: Request, tenant: Annotated[TenantRef, Depends(current_tenant)]
) -> Iterator[Connection]:
    """The request's transaction, in which only its tenant's rows exist: committed when the
    route returns (before the answer is sent), rolled back if it raises."""
    with tenant_transaction(request.app.state.engine, tenant.id) as conn:
        yield conn


# Sync routes that take it run in the thread pool, off the event loop; scope="function" ends
# the transaction before the response is sent, so a 2xx means committed.
TenantConn = Annotated[Connection, Depends(tenant_connection, scope="function")]
