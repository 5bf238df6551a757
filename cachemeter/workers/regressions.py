"""Regression checks over every tenant's recent traffic: open, close, notify, set gauges."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from cache.regressions import (
    DetectorConfig,
    Window,
    hit_rate_recovered,
    hit_rate_regressed,
    likely_cause,
    ttft_recovered,
    ttft_regressed,
)
from cachemeter.workers.periodic import Periodic
from store.regressions import (
    SCOPES,
    Key,
    active_tenants,
    all_open,
    claim_tenant_pass,
    close_regression,
    new_prefixes,
    open_regression,
    open_regressions,
    windows,
)

Event = tuple[str, dict[str, Any]]  # ("opened" | "closed", regression)


def _window(row: dict[str, Any] | None, new: int = 0) -> Window | None:
    if row is None:
        return None
    return Window(
        requests=int(row["requests"]),
        hits=int(row["hits"]),
        causes={c: int(row[c]) for c in ("prefix_changed", "below_minimum_length", "ttl_expired")},
        new_prefixes=new,
        ttft_cached_p50=row["ttft_p50"],
        ttft_cached_count=int(row["ttft_count"]),
    )


def check_tenant(conn: Any, tenant_id: int, now: datetime, config: DetectorConfig) -> list[Event]:
    """Open and close this tenant's regressions for the window ending at `now`."""
    recent_span = (now - timedelta(minutes=config.window_minutes), now)
    base_span = (recent_span[0] - timedelta(hours=config.baseline_hours), recent_span[0])
    opened = {
        (r.kind, r.scope, r.app, r.provider, r.model, r.cache_key): r
        for r in open_regressions(conn, tenant_id)
    }
    events: list[Event] = []
    for scope in SCOPES:
        base = windows(conn, tenant_id, *base_span, scope)
        recent = windows(conn, tenant_id, *recent_span, scope)
        fresh = new_prefixes(conn, tenant_id, base_span, recent_span, scope)
        dropped_by_provider: dict[str, int] = {}
        for key, row in recent.items():
            b, r = _window(base.get(key)), _window(row)
            if (
                b
                and r
                and b.requests >= config.min_requests
                and b.hit_rate - r.hit_rate >= config.min_drop
            ):
                dropped_by_provider[key[1]] = dropped_by_provider.get(key[1], 0) + 1
        for key in set(recent) | {(k[2], k[3], k[4], k[5]) for k in opened if k[1] == scope}:
            b, r = _window(base.get(key)), _window(recent.get(key), fresh.get(key, 0))
            for kind, regressed, recovered in (
                ("hit_rate", hit_rate_regressed, hit_rate_recovered),
                ("ttft", ttft_regressed, ttft_recovered),
            ):
                existing = opened.get((kind, scope, *key))
                if existing is not None:
                    if b is not None and r is not None and recovered(b, r, config):
                        close_regression(
                            conn, existing.id, now, {"recovered_value": _value(kind, r)}
                        )
                        events.append(("closed", {**existing._mapping, "closed_at": now}))
                    continue
                if b is None or r is None or not regressed(b, r, config):
                    continue
                cause = (
                    likely_cause(b, r, dropped_by_provider.get(key[1], 0) >= 2)
                    if kind == "hit_rate"
                    else "cached_prefill_slower"
                )
                values = _regression(tenant_id, kind, scope, key, now, b, r, cause)
                if open_regression(conn, values) is not None:
                    events.append(("opened", values))
    return events


def _value(kind: str, window: Window) -> float:
    return window.hit_rate if kind == "hit_rate" else float(window.ttft_cached_p50 or 0)


def _regression(
    tenant_id: int, kind: str, scope: str, key: Key, now: datetime, b: Window, r: Window, cause: str
) -> dict[str, Any]:
    app, provider, model, cache_key = key
    return {
        "tenant_id": tenant_id,
        "kind": kind,
        "scope": scope,
        "app": app,
        "provider": provider,
        "model": model,
        "cache_key": cache_key,
        "opened_at": now,
        "baseline": _value(kind, b),
        "recent": _value(kind, r),
        "cause": cause,
        "details": {
            "baseline_requests": b.requests,
            "recent_requests": r.requests,
            "recent_causes": dict(r.causes),
            "new_prefixes": r.new_prefixes,
        },
    }


def check_regressions(engine: Engine, now: datetime, config: DetectorConfig) -> list[Event]:
    """One pass over every tenant with recent traffic or open regressions."""
    events: list[Event] = []
    with engine.connect() as conn:
        tenants = set(active_tenants(conn, now - timedelta(minutes=config.window_minutes), now))
    for tenant_id in sorted(tenants):
        with engine.begin() as conn:
            # Every API pod runs a monitor: one pass per tenant at a time, or two pods would
            # open the same regression (and send its webhook) twice. The other pod skips.
            if not claim_tenant_pass(conn, tenant_id):
                continue
            events.extend(check_tenant(conn, tenant_id, now, config))
    return events


class Monitor(Periodic):
    """Runs `check_regressions` every `interval` seconds in a thread; hands events on."""

    def __init__(
        self,
        engine: Engine,
        config: DetectorConfig,
        interval: float,
        on_events: Callable[[list[Event]], None],
        clock: Callable[[], datetime],
        on_open: Callable[[list[Any]], None] | None = None,
    ) -> None:
        super().__init__("regression-check", interval)
        self.engine, self.config = engine, config
        self.on_events, self.clock, self.on_open = on_events, clock, on_open

    def run_once(self) -> None:
        """One regression check over every tenant."""
        self.on_events(check_regressions(self.engine, self.clock(), self.config))
        if self.on_open is not None:
            # What is open in the table, so the gauge is right after a restart too.
            with self.engine.connect() as conn:
                self.on_open(all_open(conn))
