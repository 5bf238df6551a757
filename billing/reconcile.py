"""Reconciliation: where our computed cost and the source's reported charge disagree, and why."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from billing.charge import MTOK
from billing.price import Rates


@dataclass(frozen=True, slots=True)
class Totals:
    """One group's sums over events that carry a reported charge."""

    events: int
    unpriced: int
    reported: Decimal
    computed: Decimal
    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cache_write_1h_tokens: int
    cost_cache_read: Decimal
    cost_cache_write_5m: Decimal
    cost_cache_write_1h: Decimal


def within(a: Decimal, b: Decimal, tolerance_pct: Decimal, tolerance_abs: Decimal) -> bool:
    """True when a and b agree within the larger of the two tolerances."""
    return abs(a - b) <= max(tolerance_abs, abs(b) * tolerance_pct / 100)


def likely_cause(
    totals: Totals, rates: Rates | None, tolerance_pct: Decimal, tolerance_abs: Decimal
) -> str:
    """The explanation that reproduces the reported charge, tried from most to least specific."""
    if totals.unpriced:
        return (
            f"unknown model: {totals.unpriced} event(s) have no price (add one with"
            " `cachemeter prices add`, then `cachemeter reprice`)"
        )
    reported, computed = totals.reported, totals.computed
    if rates is not None:
        if (
            totals.cache_write_1h_tokens
            and rates.cache_write_1h == rates.cache_write
            and reported > computed
        ):
            return "missing 1h write price: 1-hour cache writes were priced at the 5-minute rate"
        alternatives = (
            (
                computed - totals.cost_cache_read + totals.cache_read_tokens * rates.input / MTOK,
                "cache reads priced as plain input by the source",
            ),
            (
                computed
                - totals.cost_cache_write_5m
                - totals.cost_cache_write_1h
                + totals.cache_write_tokens * rates.input / MTOK,
                "cache writes charged at the input rate by the source (no write premium)",
            ),
            (
                computed
                - totals.cost_cache_write_1h
                + totals.cache_write_1h_tokens * rates.cache_write / MTOK,
                "1-hour writes charged at the 5-minute rate by the source",
            ),
        )
        for value, cause in alternatives:
            if value != computed and within(value, reported, tolerance_pct, tolerance_abs):
                return cause
    if computed and reported > computed and reported / computed <= Decimal("1.3"):
        return (
            f"the source adds about {(reported / computed - 1) * 100:.1f}% (gateway fee or markup)"
        )
    if computed and reported < computed:
        return "the source charged less: a negotiated discount or a price our catalogue lacks"
    return "unexplained difference"
