"""Traffic windows for regression detection, and the regressions table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert

from store.models import Regression, UsageEvent

Key = tuple[str, str, str, str]  # (app, provider, model, cache key) — "" where absent
SCOPES = ("app_model", "cache_key")
# The miss causes windows count (cache.misses names), one column each.
CAUSE_COLUMNS = ("prefix_changed", "below_minimum_length", "ttl_expired")


def _key_columns(scope: str) -> list[Any]:
    e = UsageEvent
    cache_key = (
        func.coalesce(e.prompt_cache_key, e.prefix_hash, literal(""))
        if scope == "cache_key"
        else literal("")
    )
    return [
        func.coalesce(e.app, literal("")).label("app"),
        e.provider.label("provider"),
        func.coalesce(e.model, literal("")).label("model"),
        cache_key.label("cache_key"),
    ]


def _scope_filter(scope: str) -> Any:
    e = UsageEvent
    return (
        (e.prompt_cache_key.is_not(None) | e.prefix_hash.is_not(None))
        if scope == "cache_key"
        else literal(True)
    )


def active_tenants(conn: Connection, start: datetime, end: datetime) -> list[int]:
    """Tenants with traffic in [start, end)."""
    rows = conn.execute(
        select(UsageEvent.tenant_id)
        .distinct()
        .where(UsageEvent.occurred_at >= start, UsageEvent.occurred_at < end)
    )
    return [r[0] for r in rows]


def windows(
    conn: Connection, tenant_id: int, start: datetime, end: datetime, scope: str
) -> dict[Key, dict[str, Any]]:
    """Per key over [start, end): requests, hits, miss causes, cached TTFT median and count,
    and over its priced requests their input tokens, savings and currency."""
    e = UsageEvent
    keys = _key_columns(scope)
    hit = e.cache_read_tokens > 0
    cached_ttft = and_(hit, e.ttft_ms.is_not(None))
    priced = e.cost.is_not(None)
    rows = conn.execute(
        select(
            *keys,
            func.count().label("requests"),
            func.count().filter(hit).label("hits"),
            *(func.count().filter(and_(~hit, e.miss_hint == c)).label(c) for c in CAUSE_COLUMNS),
            func.percentile_cont(0.5).within_group(e.ttft_ms).filter(cached_ttft).label("ttft_p50"),
            func.count().filter(cached_ttft).label("ttft_count"),
            # What caching saved on the priced requests, and the input they sent: what a
            # regression's cost a day is figured from (billing.economics).
            func.coalesce(func.sum(e.input_tokens).filter(priced), 0).label("priced_input"),
            func.coalesce(func.sum(e.nocache_cost - e.cost).filter(priced), 0).label("savings"),
            func.min(e.currency).filter(priced).label("currency"),
            func.count(e.currency.distinct()).filter(priced).label("currencies"),
        )
        .where(
            e.tenant_id == tenant_id,
            e.occurred_at >= start,
            e.occurred_at < end,
            _scope_filter(scope),
        )
        .group_by(*keys)
    ).all()
    return {(r.app, r.provider, r.model, r.cache_key): dict(r._mapping) for r in rows}


def requests_by_minute(
    conn: Connection, tenant_id: int, start: datetime, end: datetime, scope: str
) -> dict[Key, dict[int, int]]:
    """Per key: requests in each whole minute before `end` (0 = the last minute), back to
    `start`; what picks each key's recent window."""
    e = UsageEvent
    keys = _key_columns(scope)
    # Minute m holds (end - m - 1 min, end - m]: a request at exactly end - N minutes is in
    # the N-minute window [end - N, end) and so must count within N.
    seconds = func.extract("epoch", literal(end) - e.occurred_at)
    age = (func.ceil(seconds / 60) - 1).label("age")
    rows = conn.execute(
        select(*keys, age, func.count().label("n"))
        .where(
            e.tenant_id == tenant_id,
            e.occurred_at >= start,
            e.occurred_at < end,
            _scope_filter(scope),
        )
        .group_by(*keys, age)
    ).all()
    out: dict[Key, dict[int, int]] = {}
    for r in rows:
        out.setdefault((r.app, r.provider, r.model, r.cache_key), {})[int(r.age)] = int(r.n)
    return out


def hourly(
    conn: Connection, tenant_id: int, start: datetime, end: datetime, scope: str
) -> dict[Key, list[tuple[datetime, int, int]]]:
    """Per key: (clock hour, requests, hits) over [start, end); the hour-to-hour spread a
    baseline is judged with."""
    e = UsageEvent
    keys = _key_columns(scope)
    hour = func.date_trunc("hour", e.occurred_at).label("hour")
    rows = conn.execute(
        select(
            *keys,
            hour,
            func.count().label("requests"),
            func.count().filter(e.cache_read_tokens > 0).label("hits"),
        )
        .where(
            e.tenant_id == tenant_id,
            e.occurred_at >= start,
            e.occurred_at < end,
            _scope_filter(scope),
        )
        .group_by(*keys, hour)
    ).all()
    out: dict[Key, list[tuple[datetime, int, int]]] = {}
    for r in rows:
        key = (r.app, r.provider, r.model, r.cache_key)
        out.setdefault(key, []).append((r.hour, int(r.requests), int(r.hits)))
    return out


def diagnosed_misses(
    conn: Connection, tenant_id: int, start: datetime, end: datetime, scope: str
) -> dict[Key, dict[str, int]]:
    """Per key over [start, end): misses the provider diagnosed itself, by the reason it gave."""
    e = UsageEvent
    keys = _key_columns(scope)
    rows = conn.execute(
        select(*keys, e.provider_miss_reason, func.count().label("n"))
        .where(
            e.tenant_id == tenant_id,
            e.occurred_at >= start,
            e.occurred_at < end,
            e.cache_read_tokens == 0,
            e.provider_miss_reason.is_not(None),
            _scope_filter(scope),
        )
        .group_by(*keys, e.provider_miss_reason)
    ).all()
    out: dict[Key, dict[str, int]] = {}
    for r in rows:
        key = (r.app, r.provider, r.model, r.cache_key)
        out.setdefault(key, {})[r.provider_miss_reason] = int(r.n)
    return out


def new_prefixes(
    conn: Connection,
    tenant_id: int,
    baseline: tuple[datetime, datetime],
    recent: tuple[datetime, datetime],
    scope: str,
) -> dict[Key, int]:
    """Per key: recent requests whose prefix_hash the baseline never saw for that key."""
    e = UsageEvent
    keys = _key_columns(scope)

    def seen(start: datetime, end: datetime) -> Sequence[Any]:
        return conn.execute(
            select(*keys, e.prefix_hash, func.count().label("n"))
            .where(
                e.tenant_id == tenant_id,
                e.occurred_at >= start,
                e.occurred_at < end,
                e.prefix_hash.is_not(None),
                _scope_filter(scope),
            )
            .group_by(*keys, e.prefix_hash)
        ).all()

    known = {(r.app, r.provider, r.model, r.cache_key, r.prefix_hash) for r in seen(*baseline)}
    out: dict[Key, int] = {}
    for r in seen(*recent):
        if (r.app, r.provider, r.model, r.cache_key, r.prefix_hash) not in known:
            key = (r.app, r.provider, r.model, r.cache_key)
            out[key] = out.get(key, 0) + int(r.n)
    return out


def open_regressions(conn: Connection, tenant_id: int) -> list[Any]:
    """The tenant's open regressions."""
    return list(
        conn.execute(
            select(Regression.__table__).where(
                Regression.tenant_id == tenant_id, Regression.closed_at.is_(None)
            )
        )
    )


def regressions_since(conn: Connection, tenant_id: int, since: datetime) -> list[Any]:
    """The tenant's regressions open now or closed since `since`: the open ones, and the
    periods a baseline must leave out (or, when acknowledged, start after)."""
    return list(
        conn.execute(
            select(Regression.__table__).where(
                Regression.tenant_id == tenant_id,
                Regression.closed_at.is_(None) | (Regression.closed_at >= since),
            )
        )
    )


def acknowledge_regression(
    conn: Connection, tenant_id: int, regression_id: int, at: datetime, actor: str
) -> dict[str, Any] | None:
    """Close an open regression by hand: its rate is the new normal, so baselines of its key
    start at `at`. The regression as closed, or None when the tenant has no such open one."""
    row = conn.execute(
        update(Regression)
        .where(
            Regression.tenant_id == tenant_id,
            Regression.id == regression_id,
            Regression.closed_at.is_(None),
        )
        .values(
            closed_at=func.greatest(Regression.opened_at, at),
            details=Regression.details.op("||")(
                {"acknowledged_at": at.isoformat(), "acknowledged_by": actor}
            ),
        )
        .returning(Regression.__table__)
    ).one_or_none()
    return dict(row._mapping) if row is not None else None


def all_open(conn: Connection) -> list[dict[str, Any]]:
    """Every tenant's open regressions, for the gauges."""
    rows = conn.execute(
        select(
            Regression.tenant_id,
            Regression.kind,
            Regression.scope,
            Regression.app,
            Regression.model,
            Regression.details,
        ).where(Regression.closed_at.is_(None))
    )
    return [dict(row._mapping) for row in rows]


def open_regression(conn: Connection, values: dict[str, Any]) -> int | None:
    """Record a new regression; None when the key already has an open one."""
    statement = (
        insert(Regression).values(**values).on_conflict_do_nothing().returning(Regression.id)
    )
    found = conn.execute(statement).scalar_one_or_none()
    return int(found) if found is not None else None


def close_regression(
    conn: Connection, regression_id: int, closed_at: datetime, details: dict[str, Any]
) -> None:
    """Mark a regression recovered."""
    conn.execute(
        update(Regression)
        .where(Regression.id == regression_id)
        .values(closed_at=closed_at, details=Regression.details.op("||")(details))
    )


def list_regressions(
    conn: Connection, tenant_id: int, start: datetime, end: datetime, status: str = "all"
) -> list[dict[str, Any]]:
    """Regressions overlapping [start, end), newest first; status: open, closed or all."""
    query = select(Regression.__table__).where(
        Regression.tenant_id == tenant_id,
        Regression.opened_at < end,
        Regression.closed_at.is_(None) | (Regression.closed_at >= start),
    )
    if status == "open":
        query = query.where(Regression.closed_at.is_(None))
    elif status == "closed":
        query = query.where(Regression.closed_at.is_not(None))
    rows = conn.execute(query.order_by(Regression.opened_at.desc()))
    return [dict(row._mapping) for row in rows]


# Advisory lock namespace of regression passes (any constant unique to cachemeter).
REGRESSION_LOCK = 0x636D7267


def claim_tenant_pass(conn: Connection, tenant_id: int) -> bool:
    """Take the tenant's regression-pass lock for this transaction; False if another
    process holds it."""
    return bool(
        conn.execute(
            text("SELECT pg_try_advisory_xact_lock(:ns, :tenant)"),
            {"ns": REGRESSION_LOCK, "tenant": tenant_id},
        ).scalar_one()
    )
