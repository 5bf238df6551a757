"""Cache economics report: does each cached prefix pay for its writes?"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from itertools import groupby
from typing import Any

from sqlalchemy import Connection

from billing import PriceBook, PriceNotFound, Rates
from billing.charge import money_text
from billing.economics import PrefixRequest, break_even_reads, what_if_one_hour
from store.economics import prefix_groups, prefix_timelines
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
    what_if: dict[tuple[Any, ...], tuple[Decimal, int]] = {}
    for key, rows in groupby(
        prefix_timelines(conn, tenant.id, start, end),
        key=lambda r: (r.app, r.prefix, r.provider, r.model),
    ):
        rates = _rates(book, key[2], key[3], end, tenant.name)
        if rates is None:
            continue
        result = what_if_one_hour(
            [
                PrefixRequest(
                    r.occurred_at,
                    r.cache_read_tokens,
                    r.cache_write_tokens,
                    r.cache_write_1h_tokens,
                )
                for r in rows
            ],
            rates,
        )
        what_if[key] = (result.delta, result.requests_that_would_hit)
    prefixes = []
    for row in prefix_groups(conn, tenant.id, start, end):
        rates = _rates(book, row.provider, row.model, end, tenant.name)
        even = break_even_reads(rates) if rates is not None else None
        delta, would_hit = what_if.get((row.app, row.prefix, row.provider, row.model), (None, 0))
        prefixes.append(
            {
                "app": row.app,
                "prefix": row.prefix,
                "provider": row.provider,
                "model": row.model,
                "currency": row.currency,
                "requests": row.requests,
                "write_requests": row.write_requests,
                "read_requests": row.read_requests,
                "write_tokens": int(row.write_tokens),
                "read_tokens": int(row.read_tokens),
                "reads_per_write": round(row.read_requests / row.write_requests, 3)
                if row.write_requests
                else None,
                "break_even_reads": round(float(even), 3) if even is not None else None,
                "net_savings": money_text(row.savings) if row.savings is not None else None,
                "write_premium": money_text(row.write_premium)
                if row.write_premium is not None
                else None,
                "loses_money": row.savings is not None and row.savings < 0,
                "what_if_1h_change": money_text(delta) if delta is not None else None,
                "what_if_1h_requests_that_would_hit": would_hit,
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
