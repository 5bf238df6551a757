"""The dashboard on its own, for deployments that scale it apart from the ingest API.

    gunicorn 'cachemeter.wsgi:dashboard_wsgi()'          (WSGI, any worker count)
    uvicorn --factory cachemeter.wsgi:dashboard_asgi     (ASGI)

Both serve it under /dashboard/ and read DATABASE_URL and CACHEMETER_SECRET_KEY (use the same
key on every replica so sign-ins work across them).
"""

from __future__ import annotations

from typing import Any

from a2wsgi import WSGIMiddleware

from cachemeter.server import session_secret
from dashboard.app import create_dashboard
from store.db import database_url, make_engine
from store.settings import get_settings


def dashboard_wsgi() -> Any:
    """The dashboard's Flask (WSGI) application."""
    settings = get_settings()
    engine = make_engine(database_url(settings))
    return create_dashboard(engine, secret_key=session_secret(settings)).server


def dashboard_asgi() -> Any:
    """The dashboard as an ASGI application."""
    return WSGIMiddleware(dashboard_wsgi())
