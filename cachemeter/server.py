"""The FastAPI app: ingest and report APIs, /metrics, health probes, the Dash app at /dashboard/."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import genai_prices
from a2wsgi import WSGIMiddleware
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, RedirectResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    disable_created_metrics,
    generate_latest,
)
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from cache.regressions import DetectorConfig
from cachemeter.api import admin, budgets, exports, ingest_health, otlp, reports
from cachemeter.api import ingest as ingest_api
from cachemeter.api.docs import app_with_offline_docs
from cachemeter.api.middleware import (
    BodyLimit,
    RefuseNul,
    SecurityHeaders,
    database_down,
    readiness,
)
from cachemeter.api.openapi import add_error_responses, drop_null_from_parameters
from cachemeter.api.schemas import Health, Ready
from cachemeter.config import Settings, advice_settings, database_url, get_settings
from cachemeter.heap import settle_heap
from cachemeter.workers.regressions import Event, Monitor
from cachemeter.workers.retention import LifecycleWorker
from cachemeter.workers.webhook import Webhook, message
from dashboard.app import create_dashboard
from dashboard.auth import SessionPolicy
from ingest.metrics import IngestMetrics, LabelBounds
from ingest.service import Ingestor
from reports.regressions import open_costs
from store.analytics import recent_providers
from store.db import DATABASE_DOWN, make_engine
from store.prices import catalogue_changed_at
from store.sessions import SessionLimits


def session_secret(settings: Settings) -> str:
    """CACHEMETER_SECRET_KEY, else one kept in the data dir so sign-ins survive restarts."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "dashboard-secret"
    try:
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_hex(32)
        path.write_text(secret)
        path.chmod(0o600)
        return secret
    except OSError:
        # A read-only filesystem: sessions last as long as this process.
        return secrets.token_hex(32)


def session_policy(settings: Settings) -> SessionPolicy:
    """How long dashboard sessions last, and whether their cookie is always Secure."""
    return SessionPolicy(
        SessionLimits(
            idle=timedelta(hours=settings.session_idle_hours),
            lifetime=timedelta(days=settings.session_lifetime_days),
        ),
        force_secure=settings.session_cookie_secure,
    )


def detector_config(settings: Settings) -> DetectorConfig:
    """Detection thresholds from the settings."""
    return DetectorConfig(
        window_minutes=settings.regression_window_minutes,
        baseline_hours=settings.regression_baseline_hours,
        min_requests=settings.regression_min_requests,
        min_drop=settings.regression_min_drop,
    )


def publish(events: list[Event], metrics: IngestMetrics, webhook: Webhook | None) -> None:
    """Gauges follow open regressions; the webhook hears of every opening and closing."""
    for action, regression in events:
        labels = (
            regression["kind"],
            metrics.bounds.value("app", regression["app"]),
            metrics.bounds.value("model", regression["model"]),
        )
        metrics.regression_open.labels(*labels).set(1 if action == "opened" else 0)
        if webhook is not None:
            webhook.send(message(action, {k: _plain(v) for k, v in regression.items()}))


def open_gauges(rows: list[dict[str, Any]], metrics: IngestMetrics) -> None:
    """Set cachemeter_regression_open and cachemeter_regression_cost_per_day to exactly the
    open regressions (store.regressions.all_open rows)."""
    metrics.regression_open.clear()
    metrics.regression_cost.clear()
    for row in rows:
        metrics.regression_open.labels(
            row["kind"],
            metrics.bounds.value("app", row["app"]),
            metrics.bounds.value("model", row["model"]),
        ).set(1)
    for (kind, app, model, currency), cost in open_costs(rows).items():
        metrics.regression_cost.labels(
            kind, metrics.bounds.value("app", app), metrics.bounds.value("model", model), currency
        ).set(float(cost))


def _preset_metrics(engine: Engine, metrics: IngestMetrics) -> None:
    """Counters the alert rules watch start at 0 for the providers of the last 90 days."""
    try:
        with engine.connect() as conn:
            providers = recent_providers(conn, datetime.now(UTC) - timedelta(days=90))
    except SQLAlchemyError:
        return  # the database is not up yet: /readyz says so; counters start on first use
    metrics.preset(providers)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def create_app(
    settings: Settings | None = None,
    engine: Engine | None = None,
    registry: CollectorRegistry | None = None,
) -> FastAPI:
    """Build the app; without an engine, one is created at startup from the settings."""
    settings = settings or get_settings()
    registry = registry or CollectorRegistry()
    # `_created` series double the exposition and no dashboard uses them.
    disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus-client
    bounds = LabelBounds(
        settings.metrics_label_cap,
        {label: frozenset(values) for label, values in settings.metrics_allow.items()},
    )
    metrics = IngestMetrics(registry, bounds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = app.state.engine is None
        if owned:
            app.state.engine = make_engine(database_url(settings))
        _preset_metrics(app.state.engine, metrics)
        app.state.ingestor = Ingestor(
            app.state.engine,
            metrics,
            settings.retention_months,
            end_user_key=session_secret(settings).encode(),
            keep_raw=settings.raw_payloads != "off",
        )
        lifecycle = None
        if settings.retention_interval_hours > 0:
            lifecycle = LifecycleWorker(app.state.engine, settings)
            lifecycle.start()
        webhook = Webhook(settings.webhook_url) if settings.webhook_url else None
        monitor = None
        if settings.regression_interval_seconds > 0:
            monitor = Monitor(
                app.state.engine,
                detector_config(settings),
                settings.regression_interval_seconds,
                lambda events: publish(events, metrics, webhook),
                lambda: datetime.now(UTC),
                lambda rows: open_gauges(rows, metrics),
            )
            monitor.start()
        dash_app = create_dashboard(
            app.state.engine,
            secret_key=session_secret(settings),
            sessions=session_policy(settings),
            advice=advice_settings(settings),
        )
        app.mount("/dashboard", WSGIMiddleware(dash_app.server))  # type: ignore[arg-type]
        settle_heap()
        try:
            yield
        finally:
            if monitor is not None:
                monitor.stop()
            if lifecycle is not None:
                lifecycle.stop()
            if webhook is not None:
                webhook.close()
            if owned:
                app.state.engine.dispose()

    app = app_with_offline_docs(
        title="cachemeter",
        version="0.1.0",
        description="Prompt-cache usage, cost and savings from LLM provider usage objects.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    # Keys the opaque ids tenants see (cachemeter.api.opaque).
    app.state.id_key = session_secret(settings).encode()
    app.state.engine = engine
    app.state.registry = registry
    app.state.metrics = metrics

    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(RefuseNul)
    app.add_middleware(SecurityHeaders)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Content-Encoding"],
        )

    @app.middleware("http")
    async def http_metrics(request: Request, call_next: Any) -> Any:
        began = time.perf_counter()
        response = await call_next(request)
        # The matched route's template (e.g. /v1/usage), never the raw path.
        route = getattr(request.scope.get("route"), "path", None) or "unmatched"
        metrics.http_requests.labels(request.method, route, str(response.status_code)).inc()
        metrics.http_duration.labels(request.method, route).observe(time.perf_counter() - began)
        return response

    def catalogue_age() -> float:
        try:
            with app.state.engine.connect() as conn:
                changed = catalogue_changed_at(conn)
        except DBAPIError:
            return float("nan")
        if changed is None:
            # Nothing stored or synced: the installed genai-prices data's age.
            changed = datetime.fromtimestamp(
                Path(genai_prices.__file__).with_name("data.py").stat().st_mtime, UTC
            )
        return (datetime.now(UTC) - changed).total_seconds()

    metrics.catalogue_age.set_function(catalogue_age)
    app.include_router(ingest_api.router)
    app.include_router(otlp.router)
    app.include_router(reports.router)
    app.include_router(ingest_health.router)
    app.include_router(budgets.router)
    app.include_router(admin.router)
    app.include_router(exports.router)

    for unavailable in DATABASE_DOWN:
        app.add_exception_handler(unavailable, database_down)

    @app.get("/healthz", tags=["ops"], response_model=Health)
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], response_model=Ready)
    async def readyz() -> JSONResponse:
        """The database answers and is migrated."""
        return await readiness(app.state.engine)

    @app.get(
        "/metrics",
        tags=["ops"],
        responses={
            200: {
                "description": "Prometheus text exposition.",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        },
    )
    def prometheus(request: Request) -> Response:
        """Prometheus exposition of the ingest counters (behind CACHEMETER_METRICS_TOKEN when
        set). No label carries a tenant name."""
        if settings.metrics_token:
            given = request.headers.get("authorization", "")
            expected = f"Bearer {settings.metrics_token}"
            if not secrets.compare_digest(given.encode(), expected.encode()):
                return JSONResponse(
                    {"detail": "metrics need Authorization: Bearer <CACHEMETER_METRICS_TOKEN>"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/dashboard/")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            schema.setdefault("components", {}).setdefault("schemas", {}).update(
                ingest_api.openapi_schemas()
            )
            add_error_responses(schema)
            drop_null_from_parameters(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
