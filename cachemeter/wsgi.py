"""The dashboard on its own, for deployments that scale it apart from the ingest API.

    cachemeter dashboard                                 (uvicorn, as the Helm chart runs it)
    uvicorn --factory cachemeter.wsgi:dashboard_asgi     (ASGI: /dashboard/, /healthz, /readyz)
    gunicorn 'cachemeter.wsgi:dashboard_wsgi()'          (WSGI, any worker count; Dash only)

They read DATABASE_URL and CACHEMETER_SECRET_KEY (use the same key on every replica so
sign-ins work across them).
"""

from __future__ import annotations

from typing import Any

from a2wsgi import WSGIMiddleware
from fastapi import FastAPI
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import Engine

from cachemeter.api.middleware import RefuseNul, SecurityHeaders, readiness
from cachemeter.config import advice_settings, database_url, get_settings
from cachemeter.server import session_policy, session_secret
from dashboard.app import create_dashboard
from store.db import make_engine


def _engine() -> Engine:
    return make_engine(database_url(get_settings()))


def dashboard_wsgi(engine: Engine | None = None) -> Any:
    """The dashboard's Flask (WSGI) application."""
    settings = get_settings()
    return create_dashboard(
        engine or _engine(),
        secret_key=session_secret(settings),
        sessions=session_policy(settings),
        advice=advice_settings(settings),
    ).server


def dashboard_asgi(engine: Engine | None = None) -> Any:
    """The dashboard under /dashboard/ with the probes a Deployment needs."""
    engine = engine or _engine()
    app = FastAPI(title="cachemeter dashboard", openapi_url=None, docs_url=None, redoc_url=None)
    app.add_middleware(RefuseNul)
    app.add_middleware(SecurityHeaders)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        return await readiness(engine)

    @app.get("/")
    def root() -> RedirectResponse:
        return RedirectResponse("/dashboard/")

    app.mount("/dashboard", WSGIMiddleware(dashboard_wsgi(engine)))  # type: ignore[arg-type]
    return app
