"""Cache economics report: does each cached prefix pay for its writes?"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from billing import PriceBook, PriceNotFound, Rates
from billing.charge import money_text
from billing.economics import WhatIfCounts, break_even_reads, what_if_priced
from store.economics import prefix_groups
from store.prices import load_price_book


def _rates(
    book: PriceBook, provider: str, model: str | None, at: datetime, tenant: str
) -> Rates | None:
    try:
        return book.resolve(provider, model, at, tenant).rates
    except PriceNotFound:
        return None


def cache_economics(
    conn: Connection, tenant: Any, start: datetime, end: datetime
) -> dict[str, Any]:
    """Per (app, prefix, model): reads per write, break-even reads, net savings; the prefixes
    that lose money; and what 1-hour writes would have changed."""
    book = load_price_book(conn)
    groups = prefix_groups(conn, tenant.id, start, end)
    # The what-if is per prefix and model, whatever currencies its requests were priced in.
    counts: dict[tuple[Any, ...], WhatIfCounts] = {}
    for g in groups:
        key = (g["app"], g["prefix"], g["provider"], g["model"])
        counts[key] = counts.get(key, WhatIfCounts(0, 0, 0)) + WhatIfCounts.of(g)
    prefixes = []
    for g in groups:
        rates = _rates(book, g["provider"], g["model"], end, tenant.name)
        even = break_even_reads(rates) if rates is not None else None
        what_if = (
            what_if_priced(counts[(g["app"], g["prefix"], g["provider"], g["model"])], rates)
            if rates is not None
            else None
        )
        prefixes.append(
            {
                "app": g["app"],
                "prefix": g["prefix"],
                "provider": g["provider"],
                "model": g["model"],
                "currency": g["currency"],
                "requests": g["requests"],
                "write_requests": g["write_requests"],
                "read_requests": g["read_requests"],
                "write_tokens": g["write_tokens"],
                "read_tokens": g["read_tokens"],
                "reads_per_write": round(g["read_requests"] / g["write_requests"], 3)
                if g["write_requests"]
                else None,
                "break_even_reads": round(float(even), 3) if even is not None else None,
                "net_savings": money_text(g["savings"]) if g["savings"] is not None else None,
                "write_premium": money_text(g["write_premium"])
                if g["write_premium"] is not None
                else None,
                "loses_money": g["savings"] is not None and g["savings"] < 0,
                "what_if_1h_change": money_text(what_if.delta) if what_if else None,
                "what_if_1h_requests_that_would_hit": what_if.requests_that_would_hit
                if what_if
                else 0,
            }
        )
    by_currency: dict[str, Decimal] = {}
    for p in prefixes:
        if p["what_if_1h_change"] is not None and p["currency"]:
            by_currency[p["currency"]] = by_currency.get(p["currency"], Decimal(0)) + Decimal(
                p["what_if_1h_change"]
            )
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "prefixes": prefixes,
        "losing": [p for p in prefixes if p["loses_money"]],
        "what_if_1h": {c: money_text(v) for c, v in sorted(by_currency.items())},
    }
