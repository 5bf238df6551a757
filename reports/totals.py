"""Summed figures of a set of requests and of the explicit caches created among them: counts,
money per currency (never mixed), hit rates. The API summary and the dashboard sum through
this, so a number is the same in both. Explicit-cache storage is part of the cost and
comes off the savings, as on the finance statement."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from store.analytics import COUNT_SUMS, MONEY_SUMS

# What a usage row may carry (the rollups' sums); `storage` is added by add_storage.
COUNTS, MONEY = COUNT_SUMS, MONEY_SUMS


@dataclass
class Totals:
    """Sums of one group (`key`) or of a whole view."""

    key: Any = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    money: dict[str, dict[str, Decimal]] = field(default_factory=dict)

    def add(self, row: Mapping[str, Any]) -> None:
        """Add one row of usage sums: a `currency` (None for unpriced requests) and any of the
        counts and money sums."""
        for name in COUNTS:
            if row.get(name) is not None:
                self.counts[name] += int(row[name])
        currency = row.get("currency")
        if currency is None:
            return
        bucket = self.money.setdefault(currency, {})
        for name in MONEY:
            if row.get(name) is not None:
                bucket[name] = bucket.get(name, Decimal(0)) + Decimal(row[name])

    def add_storage(self, currency: str | None, amount: Decimal | None) -> None:
        """Add explicit-cache storage: it costs, and what caching saved is less by it."""
        if currency is None or amount is None:
            return
        bucket = self.money.setdefault(currency, {})
        for name, sign in (("storage", 1), ("cost", 1), ("savings", -1)):
            bucket[name] = bucket.get(name, Decimal(0)) + sign * Decimal(amount)

    @property
    def token_hit_rate(self) -> float | None:
        """Cache-read tokens over all input tokens."""
        return token_hit_rate(self.counts["cache_read_tokens"], self.counts["input_tokens"])

    @property
    def request_hit_rate(self) -> float | None:
        """Share of requests that read anything from the cache."""
        return request_hit_rate(self.counts["hit_requests"], self.counts["requests"])

    @property
    def currency(self) -> str | None:
        """The currency most of the money is in (by no-cache cost, then cost)."""
        return main_currency([self])

    def amount(self, name: str, currency: str | None = None) -> Decimal | None:
        """`name` (cost, savings, storage, …) in `currency` (default: the main one)."""
        currency = currency or self.currency
        return self.money[currency].get(name, Decimal(0)) if currency in self.money else None

    def other_currencies(self) -> list[str]:
        """Currencies besides the main one (their money is not added in)."""
        return sorted(c for c in self.money if c != self.currency)


def token_hit_rate(cache_read_tokens: Any, input_tokens: Any) -> float | None:
    """Cache-read tokens over all input tokens (None without input)."""
    return int(cache_read_tokens) / int(input_tokens) if input_tokens else None


def request_hit_rate(hit_requests: Any, requests: Any) -> float | None:
    """Requests with a cache read over all requests (None without requests)."""
    return int(hit_requests) / int(requests) if requests else None


def main_currency(parts: Iterable[Totals]) -> str | None:
    """The currency most of the money of `parts` together is in (by no-cache cost, then cost)."""
    weight: dict[str, tuple[Decimal, Decimal]] = {}
    for part in parts:
        for currency, money in part.money.items():
            nocache, cost = weight.get(currency, (Decimal(0), Decimal(0)))
            weight[currency] = (
                nocache + money.get("nocache_cost", Decimal(0)),
                cost + money.get("cost", Decimal(0)),
            )
    return max(weight, key=lambda c: weight[c], default=None)


def totals_of(rows: Any, storage: Any = ()) -> Totals:
    """One Totals over usage rows and storage rows (each with `currency` and `storage`)."""
    totals = Totals()
    for row in rows:
        totals.add(row._mapping)
    for row in storage:
        totals.add_storage(row.currency, row.storage)
    return totals


def grouped(rows: Any, storage: Any = (), key: str = "key") -> list[Totals]:
    """Totals per value of column `key` over usage rows and storage rows, ordered by key (None
    last)."""
    groups: dict[Any, Totals] = {}
    for row in rows:
        value = getattr(row, key)
        groups.setdefault(value, Totals(value)).add(row._mapping)
    for row in storage:
        value = getattr(row, key)
        groups.setdefault(value, Totals(value)).add_storage(row.currency, row.storage)
    # None sorts last; keys of one report are all strings or all times.
    return sorted(groups.values(), key=lambda t: (t.key is None, t.key or ""))
