"""Currency conversion from a table of dated rates, for reports in a reporting currency."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from billing.charge import to_money


class RateNotFound(LookupError):
    """No rate converts between the two currencies at that time."""


@dataclass(frozen=True, slots=True)
class FxRate:
    """1 `from_currency` = `rate` `to_currency`, from `effective_from` until the next rate."""

    from_currency: str
    to_currency: str
    rate: Decimal
    effective_from: datetime


class FxTable:
    """Looks up the rate in force at a time: direct, inverse, or through USD."""

    def __init__(self, rates: Iterable[FxRate]) -> None:
        self._pairs: dict[tuple[str, str], list[FxRate]] = {}
        for rate in rates:
            self._pairs.setdefault((rate.from_currency, rate.to_currency), []).append(rate)
        for series in self._pairs.values():
            series.sort(key=lambda r: r.effective_from)

    def _direct(self, source: str, target: str, at: datetime) -> Decimal | None:
        found = None
        for rate in self._pairs.get((source, target), ()):
            if rate.effective_from <= at:
                found = rate.rate
        return found

    def _pair(self, source: str, target: str, at: datetime) -> Decimal | None:
        direct = self._direct(source, target, at)
        if direct is not None:
            return direct
        inverse = self._direct(target, source, at)
        return 1 / inverse if inverse is not None else None

    def rate(self, source: str, target: str, at: datetime) -> Decimal:
        """Units of `target` per unit of `source` at `at`."""
        if source == target:
            return Decimal(1)
        found = self._pair(source, target, at)
        if found is None and "USD" not in (source, target):
            first, second = self._pair(source, "USD", at), self._pair("USD", target, at)
            found = first * second if first is not None and second is not None else None
        if found is None:
            raise RateNotFound(f"no {source}->{target} rate in force at {at.isoformat()}")
        return found

    def convert(self, amount: Decimal, source: str, target: str, at: datetime) -> Decimal:
        """`amount` of `source` in `target` at `at`, to the stored money precision.

        An inverse pair divides rather than multiplying by a rounded reciprocal.
        """
        if source == target:
            return amount
        direct = self._direct(source, target, at)
        if direct is not None:
            return to_money(amount * direct)
        inverse = self._direct(target, source, at)
        if inverse is not None:
            return to_money(amount / inverse)
        if "USD" not in (source, target):
            return self.convert(self.convert(amount, source, "USD", at), "USD", target, at)
        raise RateNotFound(f"no {source}->{target} rate in force at {at.isoformat()}")


class RunningConversion:
    """Converts many amounts into one currency so that the amounts converted under one key
    (a source currency, a rate period and a kind of money) add up to their sum converted
    once: each amount converts to the step it makes in the running converted sum.

    Rounding each amount apart loses up to half a unit of the last place per amount, so a
    finer breakdown would add up to a different total; this way every breakdown of the same
    amounts (statement groups, FOCUS rows) adds up to the same total, exactly.
    """

    def __init__(self, fx: FxTable, target: str) -> None:
        self._fx = fx
        self._target = target
        self._sums: dict[tuple[str, datetime, str], tuple[Decimal, Decimal]] = {}

    @property
    def target(self) -> str:
        """The currency everything is converted into."""
        return self._target

    def convert(self, amount: Decimal, source: str, at: datetime, kind: str) -> Decimal:
        """`amount` of `source` in the target currency at `at`; RateNotFound without a rate."""
        key = (source, at, kind)
        summed, converted = self._sums.get(key, (Decimal(0), Decimal(0)))
        summed += amount
        after = to_money(self._fx.convert(summed, source, self._target, at))
        self._sums[key] = (summed, after)
        return after - converted
