"""Cache prefixes ranked by money: each prefix's savings (cost without caching minus cost;
negative where the cache cost money, e.g. writes never read), largest either way first within
its currency, and the prefixes too small to act on folded into a line whose sums are theirs
(one for those that lost money, one for the rest), so the lines add up to the view."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from store import analytics
from store.analytics import PREFIX_COUNTS, Filters

# Shown per currency: the TOP_PREFIXES with the largest |savings|, each at least FOLD_SHARE of
# the currency's |savings| summed over its prefixes; the rest are folded. Past these a prefix
# moves too little money to act on and would push the ones that matter off the table.
TOP_PREFIXES = 10
FOLD_SHARE = Decimal("0.01")
COUNTS = PREFIX_COUNTS


@dataclass(frozen=True, slots=True)
class PrefixLine:
    """A prefix of one app, provider, model and currency; or, `folded` > 0, that many prefixes
    of a currency summed (their keys None). Money is None for unpriced requests."""

    prefix: str | None
    app: str | None
    provider: str | None
    model: str | None
    currency: str | None
    requests: int
    hit_requests: int
    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost: Decimal | None
    nocache_cost: Decimal | None
    folded: int = 0

    @property
    def savings(self) -> Decimal | None:
        """Cost without caching minus cost (negative: the cache cost money)."""
        if self.cost is None or self.nocache_cost is None:
            return None
        return self.nocache_cost - self.cost

    @property
    def label(self) -> str:
        """The prefix, or for a folded line "N other prefixes" ("… that lost money")."""
        if not self.folded:
            return str(self.prefix)
        return f"{self.folded} other prefixes{' that lost money' if _loses(self) else ''}"


def _line(row: Mapping[str, Any]) -> PrefixLine:
    priced = row["currency"] is not None
    return PrefixLine(
        prefix=row["prefix"],
        app=row["app"],
        provider=row["provider"],
        model=row["model"],
        currency=row["currency"],
        **{c: int(row[c]) for c in COUNTS},
        cost=Decimal(row["cost"]) if priced else None,
        nocache_cost=Decimal(row["nocache_cost"]) if priced else None,
        folded=int(row.get("folded") or 0),
    )


def _weight(line: PrefixLine) -> Decimal:
    # Unpriced prefixes have no money to rank by: their input tokens stand in.
    savings = line.savings
    return abs(savings) if savings is not None else Decimal(line.input_tokens)


def _loses(line: PrefixLine) -> bool:
    return line.savings is not None and line.savings < 0


def _order(line: PrefixLine) -> tuple[Any, ...]:
    keys = (line.prefix, line.app, line.provider, line.model)
    return (-_weight(line), -line.input_tokens, *(str(k) for k in keys))


def _fold(lines: Sequence[PrefixLine]) -> PrefixLine:
    first = lines[0]

    def total(name: str) -> Decimal | None:
        values = [getattr(line, name) for line in lines]
        return None if None in values else sum(values, Decimal(0))

    return PrefixLine(
        prefix=None,
        app=None,
        provider=None,
        model=None,
        currency=first.currency,
        **{c: sum(getattr(line, c) for line in lines) for c in COUNTS},
        cost=total("cost"),
        nocache_cost=total("nocache_cost"),
        # A line the store folded already counts its prefixes.
        folded=sum(line.folded or 1 for line in lines),
    )


def ranked(
    rows: Iterable[Mapping[str, Any]], top: int = TOP_PREFIXES, share: Decimal = FOLD_SHARE
) -> list[PrefixLine]:
    """Lines of prefix sums (store.analytics.prefix_sums rows) by currency (alphabetical,
    unpriced last), within one by |savings| largest first, the prefixes past `top` or under
    `share` of the currency's |savings| folded into a line of those that lost money and one of
    the rest, last (a lone one stays itself)."""
    currencies: dict[str | None, list[PrefixLine]] = {}
    # Lines the store folded already (prefix_sums with `top`), and its sum of weights.
    tails: dict[str | None, list[PrefixLine]] = {}
    wholes: dict[str | None, Decimal] = {}
    for row in rows:
        if row["requests"]:  # a group a re-price moved to another currency is left empty
            line = _line(row)
            (tails if line.folded else currencies).setdefault(line.currency, []).append(line)
            if row.get("whole") is not None:
                wholes[line.currency] = Decimal(row["whole"])
    out: list[PrefixLine] = []
    for currency in sorted({*currencies, *tails}, key=lambda c: (c is None, c or "")):
        lines = sorted(currencies.get(currency, []), key=_order)
        whole = wholes.get(currency, sum(map(_weight, lines), Decimal(0)))
        # Sorted by weight, the lines to fold are a tail: from the first one past `top` or
        # under `share` (no share rule where the currency's prefixes moved no money at all).
        cut = next(
            (
                rank
                for rank, line in enumerate(lines)
                if rank >= top or (whole and _weight(line) < share * whole)
            ),
            len(lines),
        )
        rest = [*lines[cut:], *tails.get(currency, [])]
        # Losses fold apart from the rest: many small losing prefixes (a prefix that changes
        # with every request) must not vanish into a net figure. One line folded alone would
        # only hide its name.
        losing = [line for line in rest if _loses(line)]
        others = [line for line in rest if not _loses(line)]
        folds = [
            _fold(group) if len(group) > 1 else group[0] for group in (losing, others) if group
        ]
        out.extend([*lines[:cut], *sorted(folds, key=_order)])
    return out


def prefix_lines(conn: Connection, tenant_id: int, f: Filters) -> list[PrefixLine]:
    """The view's prefixes, ranked and folded (`ranked`)."""
    # One more than shown: a lone prefix past the top stays itself, named.
    return ranked(analytics.prefix_sums(conn, tenant_id, f, top=TOP_PREFIXES + 1))
