"""Plain factory functions with keyword defaults for test data."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import Connection, Engine, func, select

from billing.catalogue import PriceSpec
from billing.fx import FxRate
from store.fx import add_rate
from store.models import IngestOutcomeHourly
from store.prices import add_price
from store.tenants import SCOPES, TenantRef, create_key, ensure_tenant


def tenant_with_key(
    engine: Engine, name: str = "acme", scopes: Collection[str] = SCOPES
) -> tuple[TenantRef, str]:
    """A tenant and a fresh API key for it (every scope unless told)."""
    with engine.begin() as conn:
        tenant = ensure_tenant(conn, name)
        key = create_key(conn, tenant, scopes=scopes)
    return tenant, key


def ingested(
    engine: Engine,
    records: Sequence[dict[str, Any]],
    *,
    tenant: str = "acme",
    received_at: datetime = datetime(2026, 11, 21, tzinfo=UTC),
) -> TenantRef:
    """`records` pushed through the real ingest for `tenant` (created if needed), every one
    accepted; the tenant."""
    from prometheus_client import CollectorRegistry

    from ingest.metrics import IngestMetrics
    from ingest.service import Ingestor

    with engine.begin() as conn:
        ref = ensure_tenant(conn, tenant)
    result = Ingestor(engine, IngestMetrics(CollectorRegistry())).ingest(
        ref, records, source="push", received_at=received_at
    )
    assert not result.rejected, result.rejected
    return ref


def dashboard_cookie_signer(secret: str) -> Any:
    """Flask's signer of dashboard session cookies under `secret`: what anyone holding the
    server's secret (or an old cookie) has, to show that a signature alone signs nobody in."""
    app = flask.Flask("forge")
    app.secret_key = secret
    signer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert signer is not None
    return signer


def anthropic_record(
    *,
    request_id: str | None = "req-1",
    plain: int = 100,
    read: int = 0,
    write: int = 0,
    output: int = 10,
    model: str = "claude-sonnet-4-5",
    occurred_at: str = "2026-11-20T10:00:00Z",
    **extra: Any,
) -> dict[str, Any]:
    """A push record carrying an Anthropic usage object (input excludes cache)."""
    record: dict[str, Any] = {
        "provider": "anthropic",
        "model": model,
        "usage": {
            "input_tokens": plain,
            "cache_read_input_tokens": read,
            "cache_creation_input_tokens": write,
            "output_tokens": output,
        },
        "occurred_at": occurred_at,
        **extra,
    }
    if request_id is not None:
        record["request_id"] = request_id
    return record


def outcome_counts(engine: Engine) -> dict[tuple[str, str, str], int]:
    """ingest_outcomes_hourly summed over hours and tenants: (source, outcome, reason) -> how
    many (what a test of one tenant's ingest path reads back)."""
    o = IngestOutcomeHourly
    with engine.connect() as conn:
        rows = conn.execute(
            select(o.source, o.outcome, o.reason, func.sum(o.count)).group_by(
                o.source, o.outcome, o.reason
            )
        ).all()
    return {(source, outcome, reason): int(n) for source, outcome, reason, n in rows}


def prefix_money_records(occurred_at: str = "2026-11-20T10:00:00Z") -> list[dict[str, Any]]:
    """Requests of six cache prefixes that save, lose or move no money (Claude Sonnet 4.5 per
    MTok: $3 input, $0.30 cache read, $3.75 5-minute write), and one unpriced prefix."""
    # (prefix, uncached, read, written)
    sonnet = [
        # 1,000 + 100,000 read: $0.003 + $0.03 = $0.033 against 101,000 x $3 = $0.303.
        ("p-read", 1000, 100_000, 0),
        # 1,000 + 40,000 written, never read: $0.003 + $0.15 = $0.153 against $0.123.
        ("p-write", 1000, 0, 40_000),
        # 200,000 uncached: $0.60 either way, the most input tokens by far.
        ("p-plain", 200_000, 0, 0),
        # 1,000 + 1,000 read: $0.003 + $0.0003 = $0.0033 against $0.006, each.
        ("p-tiny-1", 1000, 1000, 0),
        ("p-tiny-2", 1000, 1000, 0),
    ]
    records = [
        anthropic_record(
            request_id=prefix,
            prefix_hash=prefix,
            plain=plain,
            read=read,
            write=write,
            output=0,
            occurred_at=occurred_at,
        )
        for prefix, plain, read, write in sonnet
    ]
    records.append(
        {
            "request_id": "p-unpriced",
            "prefix_hash": "p-unpriced",
            "provider": "stepfun",
            "model": "step-nope-1",
            "occurred_at": occurred_at,
            "usage": {"prompt_tokens": 5000, "completion_tokens": 1},
        }
    )
    return records


def add_stepfun_in_cny(conn: Connection) -> None:
    """Step-1o priced in CNY (per MTok: 5 input, 1 cache read, 20 output), and the USD-CNY rate:
    7.25 from January 2026, 7.00 from 15 November."""
    add_price(
        conn,
        PriceSpec(
            provider="stepfun",
            model="step-1o-turbo-vision",
            currency="CNY",
            input_mtok=Decimal(5),
            output_mtok=Decimal(20),
            cache_read_mtok=Decimal(1),
        ),
    )
    add_rate(conn, FxRate("USD", "CNY", Decimal("7.25"), datetime(2026, 1, 1, tzinfo=UTC)))
    add_rate(conn, FxRate("USD", "CNY", Decimal("7.00"), datetime(2026, 11, 15, tzinfo=UTC)))


def stepfun_record(request_id: str, at: str) -> dict[str, Any]:
    """A Step-1o request of team vision: 591 prompt tokens of which 512 cached, 120 out."""
    return {
        "provider": "stepfun",
        "model": "step-1o-turbo-vision",
        "request_id": request_id,
        "occurred_at": at,
        "team": "vision",
        "usage": {"prompt_tokens": 591, "completion_tokens": 120, "cached_tokens": 512},
    }


def two_ttl_write(request_id: str = "write", **extra: Any) -> dict[str, Any]:
    """An Anthropic request writing 3,000 tokens for 5 minutes and 1,000 for an hour, beside
    1,000 uncached and no output."""
    return {
        **anthropic_record(request_id=request_id, **extra),
        "usage": {
            "input_tokens": 1000,
            "cache_creation_input_tokens": 4000,
            "output_tokens": 0,
            "cache_creation": {
                "ephemeral_5m_input_tokens": 3000,
                "ephemeral_1h_input_tokens": 1000,
            },
        },
    }


# A Gemini 2.5 Pro explicit cache of team search: 100,000 tokens held 3 hours on 5 November
# (0.3 MTok-hours; $1.35 at $4.50 per MTok-hour).
GEMINI_CACHE = {
    "team": "search",
    "cache": {
        "name": "cachedContents/abc",
        "model": "models/gemini-2.5-pro",
        "createTime": "2026-11-05T10:00:00Z",
        "expireTime": "2026-11-05T13:00:00Z",
        "usageMetadata": {"totalTokenCount": 100000},
    },
}
