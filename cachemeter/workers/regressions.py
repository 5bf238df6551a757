"""Regression checks over every tenant's recent traffic: open, close, notify, set gauges."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Engine

from billing.economics import CacheSavings, regression_cost_per_day
from cache.regressions import (
    DetectorConfig,
    Window,
    assess,
    hit_rate_regressed,
    likely_cause,
    merged_periods,
    pick_span,
    provider_cause,
    spread,
    ttft_recovered,
    ttft_regressed,
)
from cachemeter.workers.periodic import Periodic
from store.regressions import (
    CAUSE_COLUMNS,
    SCOPES,
    Key,
    active_tenants,
    all_open,
    claim_tenant_pass,
    close_regression,
    diagnosed_misses,
    hourly,
    new_prefixes,
    open_regression,
    regressions_since,
    requests_by_minute,
    windows,
)

Event = tuple[str, dict[str, Any]]  # ("opened" | "closed", regression)


def _window(
    row: dict[str, Any] | None,
    new: int = 0,
    spread: float = 0.0,
    diagnosed: dict[str, int] | None = None,
) -> Window | None:
    if row is None:
        return None
    return Window(
        requests=int(row["requests"]),
        hits=int(row["hits"]),
        causes={c: int(row[c]) for c in CAUSE_COLUMNS},
        new_prefixes=new,
        ttft_cached_p50=row["ttft_p50"],
        ttft_cached_count=int(row["ttft_count"]),
        spread=spread,
        diagnosed=diagnosed or {},
    )


# (kind, scope, app, provider, model, cache key): one regression's identity.
RegressionKey = tuple[str, str, str, str, str, str]


def _requests_within(by_age: dict[int, int], span: int) -> int:
    """Requests in the last `span` minutes, from counts per minute of age."""
    return sum(n for age, n in by_age.items() if age < span)


def _frozen(regression: Any) -> Window | None:
    """The baseline an open hit-rate regression was opened against."""
    requests = int((regression.details or {}).get("baseline_requests") or 0)
    if not requests:
        return None
    return Window(requests=requests, hits=round(float(regression.baseline) * requests))


def _leave_out(
    conn: Any,
    tenant_id: int,
    base: dict[Key, dict[str, Any]],
    span: tuple[datetime, datetime],
    scope: str,
    history: list[Any],
) -> None:
    """Take out of the baseline rows (in place) the traffic of each key's regression periods, so
    a past outage never lowers the rate a key is judged against; an acknowledged regression's
    rate is the new normal, so its key's baseline starts at the acknowledgement instead. A
    key's periods are merged first: traffic inside two of them is taken out once."""
    periods: dict[Key, list[tuple[datetime, datetime]]] = {}
    for regression in history:
        if regression.scope != scope or regression.kind != "hit_rate":
            continue
        key = (regression.app, regression.provider, regression.model, regression.cache_key)
        if key in base:
            periods.setdefault(key, []).append(_excluded(regression, span))
    for key, spans in periods.items():
        row = base[key]
        for start, end in merged_periods(spans):
            taken = windows(conn, tenant_id, start, end, scope).get(key)
            if taken is not None:
                for column in ("requests", "hits", "priced_input", *CAUSE_COLUMNS):
                    row[column] = max(0, int(row[column]) - int(taken[column]))
                row["savings"] = row["savings"] - taken["savings"]


def _excluded(regression: Any, span: tuple[datetime, datetime]) -> tuple[datetime, datetime]:
    """The part of a baseline span a hit-rate regression takes out: its period, or everything
    before an acknowledgement (the rate acknowledged is the new normal)."""
    acknowledged = (regression.details or {}).get("acknowledged_at")
    start = span[0] if acknowledged else max(regression.opened_at, span[0])
    return start, min(regression.closed_at or span[1], span[1])


def _spreads(
    conn: Any,
    tenant_id: int,
    span: tuple[datetime, datetime],
    scope: str,
    history: list[Any],
) -> dict[Key, float]:
    """Per key: the baseline's hour-to-hour spread of the hit rate (cache.regressions.spread),
    hours inside the key's regression periods left out."""
    periods: dict[Key, list[tuple[datetime, datetime]]] = {}
    for regression in history:
        if regression.scope == scope and regression.kind == "hit_rate":
            key = (regression.app, regression.provider, regression.model, regression.cache_key)
            periods.setdefault(key, []).append(_excluded(regression, span))
    out = {}
    for key, hours in hourly(conn, tenant_id, *span, scope).items():
        kept = [
            (n, h)
            for at, n, h in hours
            if not any(lo < at + timedelta(hours=1) and at < hi for lo, hi in periods.get(key, []))
        ]
        out[key] = spread(kept)
    return out


def check_tenant(conn: Any, tenant_id: int, now: datetime, config: DetectorConfig) -> list[Event]:
    """Open and close this tenant's regressions for the windows ending at `now`.

    Each key's recent window is the shortest span that holds enough requests (volume-adaptive);
    its baseline is the `baseline_hours` before that window, regression periods left out.
    Re-running over the same data changes nothing: a regression is opened at most once per key
    and time, and one opened after `now` (a replay of earlier data) is left alone.
    """
    earliest = now - timedelta(hours=config.baseline_hours, minutes=config.window_minutes)
    history = regressions_since(conn, tenant_id, earliest)
    opened: dict[RegressionKey, Any] = {
        (r.kind, r.scope, r.app, r.provider, r.model, r.cache_key): r
        for r in history
        if r.closed_at is None
    }
    covered: set[RegressionKey] = {
        (r.kind, r.scope, r.app, r.provider, r.model, r.cache_key)
        for r in history
        if r.closed_at is not None and r.opened_at <= now < r.closed_at
    }
    events: list[Event] = []
    for scope in SCOPES:
        ages = requests_by_minute(
            conn, tenant_id, now - timedelta(minutes=config.window_minutes), now, scope
        )
        keys = set(ages) | {(k[2], k[3], k[4], k[5]) for k in opened if k[1] == scope}
        by_span: dict[int, list[Key]] = {}
        for key in keys:
            span = pick_span(partial(_requests_within, ages.get(key, {})), config)
            by_span.setdefault(span, []).append(key)
        for span, span_keys in sorted(by_span.items()):
            recent_span = (now - timedelta(minutes=span), now)
            base_span = (recent_span[0] - timedelta(hours=config.baseline_hours), recent_span[0])
            base = windows(conn, tenant_id, *base_span, scope)
            _leave_out(conn, tenant_id, base, base_span, scope, history)
            # The spread leaves out the baseline's last `window_minutes`: a change that began
            # just before the recent window is no part of the key's normal variation.
            spread_span = (base_span[0], base_span[1] - timedelta(minutes=config.window_minutes))
            spreads = _spreads(conn, tenant_id, spread_span, scope, history)
            recent = windows(conn, tenant_id, *recent_span, scope)
            fresh = new_prefixes(conn, tenant_id, base_span, recent_span, scope)
            diagnosed = diagnosed_misses(conn, tenant_id, *recent_span, scope)
            dropped_by_provider: dict[str, int] = {}
            for key, row in recent.items():
                b, r = _window(base.get(key), spread=spreads.get(key, 0.0)), _window(row)
                if b and r and hit_rate_regressed(b, r, config):
                    dropped_by_provider[key[1]] = dropped_by_provider.get(key[1], 0) + 1
            for key in span_keys:
                b = _window(base.get(key), spread=spreads.get(key, 0.0))
                r = _window(recent.get(key), fresh.get(key, 0), diagnosed=diagnosed.get(key))
                events.extend(
                    _assess_key(
                        conn,
                        tenant_id,
                        scope,
                        key,
                        now,
                        span,
                        b,
                        r,
                        config,
                        opened,
                        covered,
                        dropped_by_provider.get(key[1], 0) >= 2,
                        _money_at_risk(base.get(key), recent.get(key), span),
                    )
                )
    return events


def _assess_key(
    conn: Any,
    tenant_id: int,
    scope: str,
    key: Key,
    now: datetime,
    span: int,
    b: Window | None,
    r: Window | None,
    config: DetectorConfig,
    opened: dict[RegressionKey, Any],
    covered: set[RegressionKey],
    provider_wide: bool,
    money: dict[str, str | None],
) -> list[Event]:
    events: list[Event] = []
    for kind in ("hit_rate", "ttft"):
        existing = opened.get((kind, scope, *key))
        if existing is not None and existing.opened_at > now:
            continue  # a replay of time before it opened: not this pass's to judge
        if kind == "hit_rate":
            frozen = _frozen(existing) if existing is not None else None
            action = assess(frozen, b, r, config) if existing is None or frozen else None
        elif existing is not None:
            recovered = b is not None and r is not None and ttft_recovered(b, r, config)
            action = "close" if recovered else None
        else:
            action = "open" if b and r and ttft_regressed(b, r, config) else None
        if action == "close" and existing is not None and r is not None:
            close_regression(conn, existing.id, now, {"recovered_value": _value(kind, r)})
            events.append(("closed", {**existing._mapping, "closed_at": now}))
        elif action == "open" and b is not None and r is not None:
            if (kind, scope, *key) in covered:
                continue  # already recorded for this time (detection re-run)
            diagnosis = provider_cause(r) if kind == "hit_rate" else None
            if diagnosis is not None:
                cause, source = diagnosis, "provider"  # the provider's word over inference
            elif kind == "hit_rate":
                cause, source = likely_cause(b, r, provider_wide), "inferred"
            else:
                cause, source = "cached_prefill_slower", "inferred"
            values = _regression(tenant_id, kind, scope, key, now, b, r, cause)
            values["details"]["cause_source"] = source
            values["details"]["diagnosed_misses"] = dict(r.diagnosed)
            values["details"]["window_minutes"] = span
            if kind == "hit_rate":
                values["details"].update(money)
            if open_regression(conn, values) is not None:
                events.append(("opened", values))
    return events


def _money_at_risk(
    base: dict[str, Any] | None, recent: dict[str, Any] | None, minutes: int
) -> dict[str, str | None]:
    """A hit-rate regression's cost a day and its currency, from the priced requests of its
    baseline and recent window; None where they are unpriced or in different currencies."""
    unknown: dict[str, str | None] = {"cost_per_day": None, "currency": None}
    if base is None or recent is None:
        return unknown
    currency = recent["currency"]
    if base["currency"] != currency or base["currencies"] != 1 or recent["currencies"] != 1:
        return unknown
    cost = regression_cost_per_day(
        CacheSavings(int(base["priced_input"]), base["savings"]),
        CacheSavings(int(recent["priced_input"]), recent["savings"]),
        minutes,
    )
    if cost is None:
        return unknown
    return {"cost_per_day": str(cost), "currency": currency}


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
            "baseline_spread": round(b.spread, 4),
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
