"""Bulk pricing gives exactly the per-record totals, and genai-prices' own totals."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

from bulk import BulkPricer, Row
from genai_prices import Usage as GenaiUsage
from genai_prices import calc_price

from billing import CatalogueEntry, PriceBook, PriceNotFound, Rates, Usage, price_usage

MODELS = [
    ("anthropic", "claude-sonnet-4-5"),
    ("openai", "gpt-5.1"),
    ("google", "gemini-2.5-pro"),
    ("deepseek", "deepseek-chat"),
    ("x-ai", "grok-4.7"),
    ("openai", "gpt-4.1"),
]
START = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())


def _rows(n: int, models: list[tuple[str, str]], seed: int = 3) -> list[Row]:
    rng = random.Random(seed)
    rows: list[Row] = []
    for _ in range(n):
        provider, model = rng.choice(models)
        inp = rng.choice([rng.randint(0, 5_000), rng.randint(150_000, 300_000)])
        read = rng.randint(0, inp)
        write = rng.randint(0, inp - read)
        rows.append(
            (
                provider,
                model,
                START + rng.randint(0, 3 * 86_400),
                inp,
                read,
                write,
                rng.randint(0, write),
                rng.randint(0, 2_000),
            )
        )
    return rows


def _per_record(
    book: PriceBook, rows: list[Row], tenant: str | None = None
) -> tuple[dict[str, Decimal], int]:
    totals: dict[str, Decimal] = {}
    unpriced = 0
    for provider, model, ts, inp, read, write, w1h, output in rows:
        try:
            price = book.resolve(provider, model, datetime.fromtimestamp(ts, UTC), tenant)
        except PriceNotFound:
            unpriced += 1
            continue
        cost = price_usage(Usage(inp, read, write, w1h, output), price).cost
        totals[price.currency] = totals.get(price.currency, Decimal(0)) + cost
    return totals, unpriced


def test_bulk_equals_per_record_including_tiers_off_peak_and_discounts() -> None:
    discount = CatalogueEntry(
        provider="openai",
        model="*",
        currency="USD",
        rates=None,
        tenant="acme",
        discount_pct=Decimal("12.5"),
    )
    stepfun = CatalogueEntry(
        provider="stepfun",
        model="step-2",
        currency="CNY",
        rates=Rates.build(input=Decimal(5), output=Decimal(20), cache_read=Decimal(1)),
    )
    book = PriceBook([discount, stepfun])
    rows = _rows(5_000, [*MODELS, ("stepfun", "step-2"), ("stepfun", "step-unknown")])
    bulk = BulkPricer(book, "acme").totals(rows)
    expected, unpriced = _per_record(book, rows, "acme")
    assert bulk.cost == expected
    assert bulk.unpriced == unpriced > 0
    assert set(bulk.cost) == {"USD", "CNY"}


def test_bulk_equals_genai_prices_calc_price() -> None:
    rows = _rows(2_000, MODELS, seed=11)
    bulk = BulkPricer(PriceBook()).totals(rows)
    genai = Decimal(0)
    for provider, model, ts, inp, read, write, w1h, output in rows:
        usage = GenaiUsage(
            input_tokens=inp,
            cache_read_tokens=read,
            cache_write_tokens=write,
            cache_write_1h_tokens=w1h,
            output_tokens=output,
        )
        genai += calc_price(
            usage,
            str(model),
            provider_id=provider,
            genai_request_timestamp=datetime.fromtimestamp(ts, UTC),
        ).total_price
    assert bulk.cost == {"USD": genai}


def test_bulk_equals_per_record_on_the_corpus() -> None:
    """Every recorded payload of tests/corpus, normalised as ingest does, priced per record by
    the Decimal engine and by the integer bulk pricer: the same totals per currency, and the
    same records unpriced, alone and summed."""
    import json
    from pathlib import Path

    from ingest.detect import normalise_payload

    corpus = Path(__file__).resolve().parent / "corpus"
    rows: list[Row] = []
    for path in sorted(corpus.rglob("*.json")):
        case = json.loads(path.read_text())
        normalised = normalise_payload(case["payload"], case.get("provider"), case.get("model"))
        u = normalised.usage
        rows.append(
            (
                normalised.provider or "unknown",
                normalised.model,
                START,
                u.input_tokens,
                u.cache_read_tokens,
                u.cache_write_tokens,
                u.cache_write_1h_tokens,
                u.output_tokens,
            )
        )
    assert len(rows) > 100
    book = PriceBook()
    # Each record alone (no sum can hide a record priced differently), then all of them.
    for row in rows:
        expected, unpriced = _per_record(book, [row])
        bulk = BulkPricer(book).totals([row])
        assert (bulk.cost, bulk.unpriced) == (expected, unpriced), row
    expected, unpriced = _per_record(book, rows)
    bulk = BulkPricer(book).totals(rows)
    assert bulk.cost == expected
    assert bulk.unpriced == unpriced
    assert sum(expected.values()) > 0 and unpriced < len(rows)
