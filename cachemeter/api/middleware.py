"""HTTP guards around every route: a request body size limit, security headers, and the
readiness answer both servers give."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cachemeter.api.docs import DOCS_CSP, DOCS_PATHS
from store.db import DATABASE_DOWN_DETAIL, RETRY_AFTER_SECONDS
from store.queries import unready_reason


async def readiness(engine: Engine) -> JSONResponse:
    """200 when the database answers, is migrated and lets this login take the application
    role; else 503 with the reason."""

    def check() -> str | None:
        try:
            with engine.connect() as conn:
                return unready_reason(conn)
        except DBAPIError:
            return "the database does not answer"

    reason = await run_in_threadpool(check)
    if reason is None:
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)


async def database_down(request: Any, exc: Exception) -> JSONResponse:
    """The answer to a request that found the database unavailable: retryable, no trace."""
    return JSONResponse(
        {"detail": DATABASE_DOWN_DETAIL},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


# The dashboard's pages: Dash needs inline bootstrap scripts and Plotly evaluates code.
DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def page_csp(path: str) -> bytes | None:
    """The Content-Security-Policy of the pages under `path`, None for the JSON API."""
    if path.startswith("/dashboard"):
        return DASHBOARD_CSP.encode()
    if path.startswith(DOCS_PATHS):
        return DOCS_CSP.encode()
    return None


HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


async def refuse(send: Send, status: int, detail: str) -> None:
    """Answer `status` with {"detail": detail} before the app has seen the request."""
    body = orjson.dumps({"detail": detail})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RefuseNul:
    """Refuse NUL in the path or a query parameter with 422 naming it: no route, page or
    callback can store or look up text PostgreSQL cannot hold."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            where = nul_in(scope["path"], scope.get("query_string", b""))
            if where is not None:
                await refuse(send, 422, f"{where}: must not contain NUL characters")
                return
        await self.app(scope, receive, send)


def nul_in(path: str, query: bytes) -> str | None:
    """Which part of a request target holds a NUL character (decoded), or None."""
    if "\x00" in path:
        return "path"
    if b"%00" not in query.lower() and b"\x00" not in query:
        return None
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return f"query parameter {name.replace(chr(0), '')[:40]!r}"
    return "query"


class BodyLimit:
    """Refuse bodies over `limit` bytes with 413, whether or not Content-Length says so."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await refuse(send, 400, "Content-Length: not a number")
                    return
                if declared > self.limit:
                    await refuse(send, 413, self._message())
                    return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await refuse(send, 413, self._message())

    def _message(self) -> str:
        return f"body larger than {self.limit} bytes (CACHEMETER_MAX_BODY_BYTES)"


class _TooLarge(Exception):
    pass


# API answers carry tenants' usage and keys: no cache (browser, proxy) may keep them.
NO_STORE_PREFIXES = ("/v1/", "/api/", "/metrics")


class SecurityHeaders:
    """nosniff, no-referrer and no framing on every response; a CSP on the dashboard and the
    API docs; `Cache-Control: no-store` on API answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = page_csp(scope["path"])
        no_store = str(scope["path"]).startswith(NO_STORE_PREFIXES)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in HEADERS if n not in present]
                if csp and b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", csp))
                if no_store and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
