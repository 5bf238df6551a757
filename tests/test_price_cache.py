"""The half-hour price cache never changes an answer: it reuses a price only where none can
change inside the half-hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bulk import BulkPricer

from billing import CatalogueEntry, PriceBook, PriceNotFound, Rates
from billing.genai import GenaiPrices, load_data
from billing.pricecache import PriceCache

DAY = datetime(2026, 11, 3, tzinfo=UTC)
# A negotiated price in force for twelve minutes inside one half-hour (10:05-10:17): the
# price at the half-hour's first and last instant is the list price either side of it.
FLASH = CatalogueEntry(
    provider="anthropic",
    model="claude-sonnet-4-5",
    currency="USD",
    rates=Rates.build(input=Decimal(1), output=Decimal(2)),
    effective_from=DAY.replace(hour=10, minute=5),
    effective_to=DAY.replace(hour=10, minute=17),
)


def _answer(resolver: PriceBook | PriceCache, provider: str, model: str, at: datetime) -> object:
    try:
        price = resolver.resolve(provider, model, at)
    except PriceNotFound as exc:
        return ("unpriced", exc.reason)
    return (price.source, price.source_id, price.rates, price.tiers)


def test_stable_sees_catalogue_entries_and_off_peak_switches() -> None:
    book = PriceBook([FLASH])
    half_hour = timedelta(minutes=30)
    ten = DAY.replace(hour=10)
    assert not book.stable("anthropic", "claude-sonnet-4-5", ten, ten + half_hour)
    assert book.stable("anthropic", "claude-sonnet-4-5", ten + half_hour, ten + 2 * half_hour)
    # An interval starting exactly at an edge still holds the entry's end inside it.
    assert FLASH.effective_from is not None
    assert not book.stable("anthropic", "claude-sonnet-4-5", FLASH.effective_from, ten + half_hour)
    # DeepSeek's off-peak price switches at 16:30 and 00:30 UTC (genai-prices' data).
    four = DAY.replace(hour=16)
    assert not book.stable("deepseek", "deepseek-chat", four, four + timedelta(hours=1))
    assert book.stable("deepseek", "deepseek-chat", four + half_hour, four + 2 * half_hour)
    assert not book.stable("deepseek", "deepseek-chat", DAY, DAY + timedelta(hours=1))
    assert book.stable("anthropic", "claude-sonnet-4-5", four, four + timedelta(hours=6))


def test_dated_genai_prices_change_at_midnight() -> None:
    data = [
        {
            "id": "acme",
            "name": "Acme",
            "api_pattern": "acme",
            "models": [
                {
                    "id": "m1",
                    "match": {"equals": "m1"},
                    "prices": [
                        {"prices": {"input_mtok": 1, "output_mtok": 2}},
                        {
                            "constraint": {"start_date": "2026-11-04"},
                            "prices": {"input_mtok": 3, "output_mtok": 4},
                        },
                    ],
                }
            ],
        }
    ]
    prices = GenaiPrices(load_data(data))
    midnight = datetime(2026, 11, 4, tzinfo=UTC)
    hour = timedelta(hours=1)
    assert prices.changes_within("acme", "m1", midnight - hour, midnight + hour)
    assert not prices.changes_within("acme", "m1", midnight, midnight + hour)
    assert not prices.changes_within("acme", "m1", midnight - hour, midnight)


def test_cache_gives_the_book_answer_at_every_minute() -> None:
    tenant_entry = CatalogueEntry(
        provider="openai",
        model="*",
        currency="USD",
        rates=None,
        tenant="acme",
        discount_pct=Decimal("10"),
        effective_from=DAY.replace(hour=3, minute=41),
    )
    book = PriceBook([FLASH, tenant_entry])
    cache = PriceCache(book)
    models = [
        ("anthropic", "claude-sonnet-4-5"),
        ("deepseek", "deepseek-chat"),
        ("openai", "gpt-5.1"),
        ("openai", "no-such-model"),
    ]
    at = DAY - timedelta(hours=2)
    while at < DAY + timedelta(hours=26):
        for provider, model in models:
            assert _answer(cache, provider, model, at) == _answer(book, provider, model, at), (
                provider,
                model,
                at,
            )
            if model != "no-such-model":
                assert cache.resolve(provider, model, at, "acme") == book.resolve(
                    provider, model, at, "acme"
                )
        at += timedelta(minutes=7, seconds=13)


def test_cache_memory_is_bounded() -> None:
    cache = PriceCache(PriceBook(), max_entries=10)
    for hour in range(100):
        cache.resolve("openai", "gpt-5.1", DAY + timedelta(hours=hour))
    assert len(cache._buckets) <= 10


def test_bulk_prices_a_window_shorter_than_its_bucket() -> None:
    book = PriceBook([FLASH])
    inside = int(DAY.replace(hour=10, minute=10).timestamp())
    edge = int(DAY.replace(hour=10, minute=0).timestamp())
    rows = [
        ("anthropic", "claude-sonnet-4-5", edge, 100_000, 0, 0, 0, 0),
        ("anthropic", "claude-sonnet-4-5", inside, 100_000, 0, 0, 0, 0),
    ]
    totals = BulkPricer(book).totals(rows)
    # 100k input tokens at the $3/MTok list rate (below the 200k tier), then 100k at $1.
    assert totals.cost == {"USD": Decimal("0.3") + Decimal("0.1")}
