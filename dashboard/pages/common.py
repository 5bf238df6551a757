"""Building blocks pages share: summed views, cards, tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dash import html

from store.analytics import SUMS


@dataclass
class View:
    """Sums of a set of rollup rows; money kept per currency."""

    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            (
                "requests",
                "hit_requests",
                "unpriced_requests",
                "input_tokens",
                "cache_read_tokens",
                "cache_write_tokens",
                "cache_write_1h_tokens",
                "uncached_input_tokens",
                "output_tokens",
            ),
            0,
        )
    )
    money: dict[str, dict[str, Decimal]] = field(default_factory=dict)

    def add(self, row: Any) -> None:
        """Add one rollup row (with a `currency` column)."""
        for key in self.counts:
            self.counts[key] += int(getattr(row, key))
        if row.currency is not None:
            bucket = self.money.setdefault(row.currency, {})
            for key in SUMS:
                if key not in self.counts:
                    bucket[key] = bucket.get(key, Decimal(0)) + Decimal(getattr(row, key))

    @property
    def currency(self) -> str | None:
        """The currency most of the money is in (by no-cache cost)."""
        return max(
            self.money, key=lambda c: self.money[c].get("nocache_cost", Decimal(0)), default=None
        )

    def amount(self, key: str) -> Decimal | None:
        """`key` (cost, savings, …) in the main currency."""
        currency = self.currency
        return self.money[currency].get(key, Decimal(0)) if currency else None

    @property
    def token_hit_rate(self) -> float | None:
        """Cache-read tokens over input tokens."""
        return (
            self.counts["cache_read_tokens"] / self.counts["input_tokens"]
            if self.counts["input_tokens"]
            else None
        )

    @property
    def request_hit_rate(self) -> float | None:
        """Requests with a cache read over all requests."""
        return (
            self.counts["hit_requests"] / self.counts["requests"]
            if self.counts["requests"]
            else None
        )

    def other_currencies(self) -> list[str]:
        """Currencies besides the main one (their money is not added in)."""
        return sorted(c for c in self.money if c != self.currency)


def view_of(rows: Sequence[Any]) -> View:
    """A View summing `rows`."""
    view = View()
    for row in rows:
        view.add(row)
    return view


def card(card_id: str, label: str, value: str, delta: str = "") -> html.Div:
    """A headline number."""
    return html.Div(
        [
            html.Div(label, className="label"),
            html.Div(value, id=card_id, className="value"),
            html.Div(delta, id=f"{card_id}-delta", className="delta"),
        ],
        className="card",
    )


def table(table_id: str, header: Sequence[str], rows: Sequence[Sequence[Any]], empty: str) -> Any:
    """A plain data table, or the reason it is empty."""
    if not rows:
        return html.Div(empty, id=table_id, className="note")
    return html.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in header])),
            html.Tbody([html.Tr([html.Td(str(c)) for c in row]) for row in rows]),
        ],
        id=table_id,
        className="data",
    )


def change(now: float | Decimal | None, before: float | Decimal | None) -> str:
    """ "+12.3% vs previous period" (or why there is no comparison)."""
    if now is None or before is None:
        return "no previous data"
    if before == 0:
        return "previous period: 0"
    return f"{(float(now) - float(before)) / abs(float(before)) * 100:+.1f}% vs previous period"
