"""The cache advisor report: the rules of cache.advice over a range's requests and prefixes,
at the prices in force at the range's end (the tenant's own where it has them)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from billing import PriceBook, PriceNotFound
from billing.charge import money_text
from billing.economics import WhatIfCounts
from cache.advice import (
    Finding,
    KeylessPrefix,
    PrefixGroup,
    PriceView,
    RequestGroup,
    Settings,
    advise,
    minimum_tokens,
    sibling_of,
    ttl_seconds,
)
from reports.formatting import money
from store.advice import advice_sums, models_used
from store.economics import prefix_groups
from store.prices import load_price_book

_GROUP_FIELDS = tuple(RequestGroup.__dataclass_fields__)
# The advisor's thresholds, for the API, CLI and dashboard (which read through this layer).
AdviceSettings = Settings


class _Prices:
    """Prices in force at one moment, looked up once per model."""

    def __init__(self, book: PriceBook, at: datetime, tenant: str) -> None:
        self._book, self._at, self._tenant = book, at, tenant
        self._seen: dict[tuple[str, str | None], PriceView | None] = {}
        self._catalogues: dict[str, dict[str, PriceView]] = {}

    def __call__(self, provider: str, model: str | None) -> PriceView | None:
        key = (provider, model)
        if key not in self._seen:
            try:
                price = self._book.resolve(provider, model, self._at, self._tenant)
                self._seen[key] = PriceView(price.currency, price.rates)
            except PriceNotFound:
                self._seen[key] = None
        return self._seen[key]

    def sibling(self, provider: str, model: str | None) -> tuple[str, PriceView] | None:
        """The provider's caching model nearest to `model` (cache.advice.sibling_of)."""
        own = self(provider, model)
        if model is None or own is None:
            return None
        if provider not in self._catalogues:
            names = self._book.models(self._tenant).get(provider, [])
            priced = {name: self(provider, name) for name in names}
            self._catalogues[provider] = {n: p for n, p in priced.items() if p is not None}
        return sibling_of(model, own, self._catalogues[provider])


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "kind": f.kind,
        "app": f.app,
        "provider": f.provider,
        "model": f.model,
        "prompt_cache_key": f.prompt_cache_key,
        "prefix": f.prefix,
        "currency": f.currency,
        "monthly_saving": f"{f.monthly_saving:.2f}",
        "saving_in_range": money_text(f.saving_in_range),
        "requests": f.requests,
        "recommendation": f.recommendation,
        "explanation": f.explanation,
        "evidence": f.evidence,
    }


def advice(
    conn: Connection,
    tenant: Any,
    start: datetime,
    end: datetime,
    app: str | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """The advisor's findings over [start, end) (of `app`), ranked, with notes on what it
    could not judge."""
    settings = settings or Settings()
    pairs = models_used(conn, tenant.id, start, end, app)
    limits = {(p, m): (minimum_tokens(p, m), ttl_seconds(p)) for p, m in pairs}
    prices = _Prices(load_price_book(conn), end, tenant.name)
    group_rows, keyless_rows = advice_sums(conn, tenant.id, start, end, app, limits)
    groups = [RequestGroup(**{k: getattr(r, k) for k in _GROUP_FIELDS}) for r in group_rows]
    keyless = [
        KeylessPrefix(
            app=r.app,
            provider=r.provider,
            model=r.model,
            prefix=r.prefix,
            requests=r.requests,
            warm=r.prefix_warm,
            warm_misses=r.warm_misses,
            warm_hits=r.warm_hits,
            smallest_read=r.smallest_read,
        )
        for r in keyless_rows
    ]
    prefixes = [
        PrefixGroup(
            app=g["app"],
            prefix=g["prefix"],
            provider=g["provider"],
            model=g["model"],
            currency=g["currency"],
            requests=int(g["requests"]),
            write_requests=int(g["write_requests"]),
            read_requests=int(g["read_requests"]),
            write_tokens=int(g["write_tokens"]),
            read_tokens=int(g["read_tokens"]),
            whatif=WhatIfCounts.of(g),
            savings=g["savings"],
        )
        for g in prefix_groups(conn, tenant.id, start, end)
        if app is None or g["app"] == app
    ]
    findings = advise(
        groups,
        keyless,
        prefixes,
        prices,
        prices.sibling,
        (end - start).total_seconds(),
        settings,
    )
    unpriced = sorted(
        {
            (g.provider, g.model or "(no model)")
            for g in groups
            if prices(g.provider, g.model) is None
        }
    )
    notes = [
        f"{provider} {model} has no price at {end.isoformat()}: its requests were not advised on"
        for provider, model in unpriced
    ]
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "app": app,
        "min_saving": money_text(settings.min_saving),
        "min_requests": settings.min_requests,
        "findings": [_finding(f) for f in findings],
        "notes": notes,
    }


def advice_text(body: dict[str, Any]) -> str:
    """The advice as people read it in a terminal: one numbered block per finding."""
    lines = [
        f"advice {body['start']} to {body['end']}"
        + (f" for {body['app']}" if body["app"] else "")
        + f": findings saving at least {body['min_saving']} a month on"
        f" {body['min_requests']:,}+ requests"
    ]
    if not body["findings"]:
        lines.append("no advice: nothing in range would save enough")
    for rank, f in enumerate(body["findings"], 1):
        where = [f["app"] or "(no app)", f"{f['provider']} {f['model'] or '(no model)'}"]
        if f["prompt_cache_key"]:
            where.append(f"key {f['prompt_cache_key']}")
        if f["prefix"]:
            where.append(f"prefix {f['prefix']}")
        lines += [
            "",
            f"{rank}. {f['kind']}: {money(Decimal(f['monthly_saving']), f['currency'])} a month"
            f" ({', '.join(where)})",
            f"   {f['recommendation']}",
            f"   why: {f['explanation']}",
        ]
    lines += [f"note: {n}" for n in body["notes"]]
    return "\n".join(lines)
