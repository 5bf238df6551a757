"""Cache prefixes ranked by money saved or lost, per currency, with the small ones folded
into one line whose sums are theirs: the pure ranking, the store's sums from real ingest, and
the hit-rate page's table."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from reports.prefixes import COUNTS, FOLD_SHARE, TOP_PREFIXES, PrefixLine, prefix_lines, ranked
from store.analytics import Filters, prefix_sums
from tests.factories import ingested, prefix_money_records

DAY = Filters(datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC))


def _row(
    prefix: str, currency: str | None = "USD", saved: str = "0", **counts: int
) -> dict[str, Any]:
    """A prefix_sums row costing 1 whose no-cache cost is 1 + `saved`."""
    return {
        "app": None,
        "prefix": prefix,
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "currency": currency,
        **{c: counts.get(c, 1) for c in COUNTS},
        "cost": Decimal(1) if currency else Decimal(0),
        "nocache_cost": Decimal(1) + Decimal(saved) if currency else Decimal(0),
    }


def _shown(lines: list[PrefixLine]) -> list[tuple[str, str | None, Decimal | None]]:
    return [(line.label, line.currency, line.savings) for line in lines]


def test_money_first_per_currency_and_past_the_tenth_folded() -> None:
    assert (10, Decimal("0.01")) == (TOP_PREFIXES, FOLD_SHARE)
    # Twelve USD prefixes saving 12, 11, ..., 1; two EUR ones, one losing 5 and one saving 3;
    # two unpriced ones of 10 and 20 input tokens.
    rows = [_row(f"u{n}", saved=str(n)) for n in range(1, 13)]
    rows += [_row("e-lose", "EUR", "-5"), _row("e-save", "EUR", "3")]
    rows += [_row("x10", None, input_tokens=10), _row("x20", None, input_tokens=20)]
    lines = ranked(rows)
    # EUR before USD, unpriced last; the largest either way first. USD's total is 1 + ... + 12
    # = 78, 1% of it 0.78: every USD prefix is above it, so only the 11th and 12th (2 and 1)
    # fold, into one line saving 3 over 2 requests.
    assert _shown(lines) == [
        ("e-lose", "EUR", Decimal(-5)),
        ("e-save", "EUR", Decimal(3)),
        *((f"u{n}", "USD", Decimal(n)) for n in range(12, 2, -1)),
        ("2 other prefixes", "USD", Decimal(3)),
        ("x20", None, None),
        ("x10", None, None),
    ]
    folded = lines[12]
    assert (folded.folded, folded.requests, folded.cost, folded.nocache_cost) == (
        2,
        2,
        Decimal(2),
        Decimal(5),
    )
    assert (folded.prefix, folded.app, folded.model) == (None, None, None)


def test_prefixes_under_one_per_cent_fold_and_a_lone_one_stays() -> None:
    # Saving 100, 50, 1, 0.5 and losing 0.4: |savings| 151.9, 1% of it 1.519, so the last
    # three fold: c and d into one line saving 1 + 0.5 = 1.5 over their 2 requests; e, the
    # only one that lost money, stays itself (not "1 other prefix").
    rows = [_row(p, saved=s) for p, s in (("a", "100"), ("b", "50"), ("c", "1"), ("d", "0.5"))]
    lines = ranked([*rows, _row("e", saved="-0.4")])
    assert _shown(lines) == [
        ("a", "USD", Decimal(100)),
        ("b", "USD", Decimal(50)),
        ("2 other prefixes", "USD", Decimal("1.5")),
        ("e", "USD", Decimal("-0.4")),
    ]
    assert lines[2].requests == 2
    # Without d and e only c is under 1% (of 151): shown as itself.
    assert [line.label for line in ranked(rows[:3])] == ["a", "b", "c"]
    # Prefixes that moved no money at all are not all folded: the share rule needs money.
    assert [line.label for line in ranked([_row("z1"), _row("z2")])] == ["z1", "z2"]


def test_small_losses_fold_apart_from_small_savings() -> None:
    # One prefix saving 100; 40 prefixes losing 0.5 each (a prefix that changes with every
    # request), 20 saving 0.5. |savings| 100 + 30 = 130, 1% of it 1.3: all 60 small ones fold,
    # the losses into a line of -20, larger than the savings' line of +10, so first.
    rows = [_row("big", saved="100")]
    rows += [_row(f"lose{n:02}", saved="-0.5") for n in range(40)]
    rows += [_row(f"save{n:02}", saved="0.5") for n in range(20)]
    assert _shown(ranked(rows)) == [
        ("big", "USD", Decimal(100)),
        ("40 other prefixes that lost money", "USD", Decimal(-20)),
        ("20 other prefixes", "USD", Decimal(10)),
    ]


def test_the_lines_add_up_to_the_view_and_empty_groups_go() -> None:
    rows = [_row(f"u{n}", saved=str(n), requests=n) for n in range(1, 30)]
    # A group a re-price emptied (its events now priced in another currency).
    rows.append({**_row("moved", saved="0"), "requests": 0, "cost": 0, "nocache_cost": 0})
    lines = ranked(rows)
    assert "moved" not in [line.label for line in lines]
    assert sum(line.requests for line in lines) == sum(range(1, 30))
    assert sum(line.savings or 0 for line in lines) == sum(range(1, 30))
    assert sum(line.cost or 0 for line in lines) == 29


def test_the_store_sums_money_per_prefix_and_currency(engine: Engine) -> None:
    tenant = ingested(engine, prefix_money_records())
    with engine.connect() as conn:
        rows = {r["prefix"]: r for r in prefix_sums(conn, tenant.id, DAY)}
        lines = prefix_lines(conn, tenant.id, DAY)
        # The store may fold the tail itself (a page then reads a few rows whatever the number
        # of prefixes): with one more row than shown, the lines are the same.
        everything = ranked(prefix_sums(conn, tenant.id, DAY), top=1)
        few = ranked(prefix_sums(conn, tenant.id, DAY, top=2), top=1)
    assert [(x.label, x.requests, x.cost, x.nocache_cost) for x in few] == [
        (x.label, x.requests, x.cost, x.nocache_cost) for x in everything
    ]
    # p-read shown; p-write, the one loser past it, by name; the other three folded.
    assert [x.label for x in few] == ["p-read", "p-write", "3 other prefixes", "p-unpriced"]
    # The factory's arithmetic: cost and cost without caching of each prefix.
    assert {p: (r["currency"], r["cost"], r["nocache_cost"]) for p, r in rows.items()} == {
        "p-read": ("USD", Decimal("0.033"), Decimal("0.303")),
        "p-write": ("USD", Decimal("0.153"), Decimal("0.123")),
        "p-plain": ("USD", Decimal("0.6"), Decimal("0.6")),
        "p-tiny-1": ("USD", Decimal("0.0033"), Decimal("0.006")),
        "p-tiny-2": ("USD", Decimal("0.0033"), Decimal("0.006")),
        "p-unpriced": (None, Decimal(0), Decimal(0)),
    }
    # Savings 0.27, -0.03, 0 and 0.0027 twice: |savings| 0.3054, 1% of it 0.003054, so p-plain
    # and the tiny two fold: cost 0.6 + 2 x 0.0033 = 0.6066 against 0.6 + 2 x 0.006 = 0.612.
    assert [(line.label, line.currency, line.savings) for line in lines] == [
        ("p-read", "USD", Decimal("0.27")),
        ("p-write", "USD", Decimal("-0.03")),
        ("3 other prefixes", "USD", Decimal("0.0054")),
        ("p-unpriced", None, None),
    ]
    folded = lines[2]
    assert (folded.requests, folded.cost, folded.nocache_cost) == (
        3,
        Decimal("0.6066"),
        Decimal("0.612"),
    )
    assert folded.input_tokens == 200_000 + 2 * 2000


def test_the_hit_rate_page_shows_the_money_it_ranks_by(engine: Engine) -> None:
    from dashboard.pages.hitrate import prefix_table

    tenant = ingested(engine, prefix_money_records())
    with engine.connect() as conn:
        shown = prefix_table(conn, tenant.id, DAY)
    header = [th.children for th in shown.children[0].children.children]
    rows = [
        dict(zip(header, (td.children for td in tr.children), strict=True))
        for tr in shown.children[1].children
    ]
    assert [
        (r["prefix"], r["savings"], r["cost"], r["cost without caching"], r["requests"])
        for r in rows
    ] == [
        ("p-read", "0.27 USD", "0.03 USD", "0.30 USD", "1"),
        ("p-write", "-0.03 USD", "0.15 USD", "0.12 USD", "1"),
        ("3 other prefixes", "0.01 USD", "0.61 USD", "0.61 USD", "3"),
        ("p-unpriced", "n/a", "n/a", "n/a", "1"),
    ]
    # p-read: 100,000 of 101,000 input tokens read from cache.
    assert rows[0]["token hit rate"] == "99.0%"
    assert rows[2]["input tokens"] == "204,000"
