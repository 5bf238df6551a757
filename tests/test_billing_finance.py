"""Issue 3's pricing rules, hand-computed from published prices, plus hypothesis properties."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing import CatalogueEntry, PriceBook, Rates, Usage, price_usage
from billing.charge import storage_cost
from billing.economics import break_even_reads
from billing.fx import FxRate, FxTable, RateNotFound, RunningConversion
from billing.price import Price, Tier

AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_sonnet_long_context_tier_reprices_cache_dimensions() -> None:
    # Claude Sonnet 4.5 past 200k input: $6 in, $0.60 read, $7.50 5m write, $12 1h write,
    # $22.50 out (below: $3, $0.30, $3.75, $6, $15).
    book = PriceBook()
    below = Usage(
        input_tokens=200_000,
        cache_read_tokens=150_000,
        cache_write_tokens=40_000,
        cache_write_1h_tokens=10_000,
        output_tokens=1_000,
    )
    above = Usage(
        input_tokens=200_001,
        cache_read_tokens=150_000,
        cache_write_tokens=40_000,
        cache_write_1h_tokens=10_000,
        output_tokens=1_000,
    )
    price = book.resolve("anthropic", "claude-sonnet-4-5", AT)
    # 10000x3 + 150000x0.30 + 30000x3.75 + 10000x6 + 1000x15 = 30000+45000+112500+60000+15000
    assert price_usage(below, price).cost == D("0.2625")
    # 10001x6 + 150000x0.60 + 30000x7.50 + 10000x12 + 1000x22.50
    # = 60006 + 90000 + 225000 + 120000 + 22500 = 517506
    assert price_usage(above, price).cost == D("0.517506")


def test_write_premium_paid() -> None:
    # Sonnet 4.5: 4000 written at $3.75 vs $3 input: premium 4000 x 0.75 = 3000 -> $0.003.
    usage = Usage(input_tokens=5_000, cache_write_tokens=4_000)
    charge = price_usage(usage, PriceBook().resolve("anthropic", "claude-sonnet-4-5", AT))
    assert charge.write_premium == D("0.003")
    no_premium = price_usage(usage, PriceBook().resolve("openai", "gpt-5.1", AT))
    assert no_premium.write_premium == 0  # gpt-5.1 lists no write price: writes cost input


def test_gemini_explicit_cache_held_three_hours() -> None:
    # Gemini 2.5 Pro context caching storage: $4.50 per 1M tokens per hour.
    price = PriceBook().resolve("google", "gemini-2.5-pro", AT)
    assert price.storage_mtok_hour == D("4.50")
    # 100,000 tokens x 3 h x 4.50 / 1e6 = 1.35
    assert storage_cost(100_000, 3 * 3600, D("4.50")) == D("1.35")


def test_negotiated_twenty_percent_discount() -> None:
    discount = CatalogueEntry(
        provider="anthropic",
        model="claude-sonnet-4-5",
        currency="USD",
        rates=None,
        tenant="acme",
        discount_pct=D("20"),
        id=3,
    )
    price = PriceBook([discount]).resolve("anthropic", "claude-sonnet-4-5", AT, "acme")
    # 80% of $3 / $0.30 / $3.75 / $15.
    assert (price.rates.input, price.rates.cache_read) == (D("2.4"), D("0.24"))
    assert (price.rates.cache_write, price.rates.output) == (D("3"), D("12"))
    assert price.source == "tenant" and price.source_id == 3
    assert "20% off genai-prices" in str(price.ref)
    # The tier moves with it: 80% of $6.
    assert price.tiers[0].rates.input == D("4.8")
    usage = Usage(input_tokens=1_000, cache_read_tokens=500, output_tokens=100)
    # 500x2.4 + 500x0.24 + 100x12 = 1200 + 120 + 1200 = 2520
    assert price_usage(usage, price).cost == D("0.00252")


def test_provider_wide_discount_and_exact_model_precedence() -> None:
    wide = CatalogueEntry(
        provider="openai",
        model="*",
        currency="USD",
        rates=None,
        tenant="acme",
        discount_pct=D("10"),
    )
    exact = CatalogueEntry(
        provider="openai",
        model="gpt-5.1",
        currency="USD",
        tenant="acme",
        rates=Rates.build(input=D("1"), output=D("8")),
    )
    book = PriceBook([wide, exact])
    assert book.resolve("openai", "gpt-5.1", AT, "acme").rates.input == D("1")
    # gpt-4.1 lists $2 input: 10% off -> $1.80.
    assert book.resolve("openai", "gpt-4.1", AT, "acme").rates.input == D("1.8")
    assert book.resolve("openai", "gpt-4.1", AT, "other").rates.input == D("2")


def test_deepseek_off_peak_half_price() -> None:
    # deepseek-chat: $0.27 in / $1.10 out per MTok; half during 16:30-00:30 UTC.
    book = PriceBook()
    peak = book.resolve("deepseek", "deepseek-chat", datetime(2026, 11, 1, 16, 29, tzinfo=UTC))
    off = book.resolve("deepseek", "deepseek-chat", datetime(2026, 11, 1, 16, 30, tzinfo=UTC))
    assert (peak.rates.input, off.rates.input) == (D("0.27"), D("0.135"))
    assert (peak.rates.output, off.rates.output) == (D("1.1"), D("0.55"))


def test_stepfun_cny_reported_in_usd() -> None:
    entry = CatalogueEntry(
        provider="stepfun",
        model="step-1o-turbo-vision",
        currency="CNY",
        rates=Rates.build(input=D("5"), output=D("20"), cache_read=D("1")),
    )
    usage = Usage(input_tokens=591, cache_read_tokens=512, output_tokens=120)
    charge = price_usage(
        usage,
        PriceBook([entry], use_genai_prices=False).resolve("stepfun", "step-1o-turbo-vision", AT),
    )
    fx = FxTable([FxRate("USD", "CNY", D("7.25"), datetime(2026, 1, 1, tzinfo=UTC))])
    # 0.003307 CNY / 7.25 CNY per USD = 0.000456137931034… -> 12 places
    assert fx.convert(charge.cost, "CNY", "USD", AT) == D("0.000456137931")
    assert fx.convert(charge.cost, "CNY", "CNY", AT) == charge.cost
    with pytest.raises(RateNotFound):
        fx.convert(charge.cost, "CNY", "USD", datetime(2025, 12, 31, tzinfo=UTC))


def test_fx_rate_in_force_and_cross_via_usd() -> None:
    fx = FxTable(
        [
            FxRate("EUR", "USD", D("1.10"), datetime(2026, 1, 1, tzinfo=UTC)),
            FxRate("EUR", "USD", D("1.20"), datetime(2026, 6, 1, tzinfo=UTC)),
            FxRate("USD", "CNY", D("7"), datetime(2026, 1, 1, tzinfo=UTC)),
        ]
    )
    assert fx.rate("EUR", "USD", datetime(2026, 5, 31, tzinfo=UTC)) == D("1.10")
    assert fx.rate("EUR", "USD", datetime(2026, 6, 1, tzinfo=UTC)) == D("1.20")
    assert fx.rate("EUR", "CNY", datetime(2026, 7, 1, tzinfo=UTC)) == D("8.40")
    # 10 EUR -> 12 USD -> 84 CNY
    assert fx.convert(D("10"), "EUR", "CNY", datetime(2026, 7, 1, tzinfo=UTC)) == D("84")


def test_running_conversion_adds_up_to_the_sum_converted_once() -> None:
    fx = FxTable([FxRate("USD", "CNY", D("7.25"), datetime(2026, 1, 1, tzinfo=UTC))])
    running = RunningConversion(fx, "USD")
    # 0.0024 CNY / 7.25 = 0.000331034482758… -> 0.000331034483 alone; three of them, rounded
    # apart, would be 0.000993103449, but 0.0072 CNY is 0.000993103448275… -> …448.
    steps = [running.convert(D("0.0024"), "CNY", AT, "output") for _ in range(3)]
    assert steps == [D("0.000331034483"), D("0.000331034483"), D("0.000331034482")]
    assert sum(steps) == fx.convert(D("0.0072"), "CNY", "USD", AT)
    # Each kind of money, currency and rate period is shared out on its own.
    assert running.convert(D("0.0024"), "CNY", AT, "input") == D("0.000331034483")
    assert running.convert(D("1.5"), "USD", AT, "output") == D("1.5")
    with pytest.raises(RateNotFound):
        running.convert(D("1"), "EUR", AT, "output")


@given(st.lists(st.decimals(min_value=D("-5"), max_value=D("5"), places=12), max_size=30))
def test_running_conversion_of_any_amounts(amounts: list[D]) -> None:
    fx = FxTable([FxRate("USD", "CNY", D("7.25"), datetime(2026, 1, 1, tzinfo=UTC))])
    running = RunningConversion(fx, "USD")
    steps = [running.convert(a, "CNY", AT, "cost") for a in amounts]
    assert sum(steps, D(0)) == fx.convert(sum(amounts, D(0)), "CNY", "USD", AT)
    # No amount moves by more than a unit of the 12th place from its own conversion.
    for amount, step in zip(amounts, steps, strict=True):
        assert abs(step - fx.convert(amount, "CNY", "USD", AT)) <= D("1e-12")


def test_break_even_reads() -> None:
    # Anthropic: write 1.25x, read 0.1x -> (1.25 - 1) / (1 - 0.1) = 0.2777… reads.
    rates = Rates.build(
        input=D("3"),
        output=D("15"),
        cache_read=D("0.3"),
        cache_write=D("3.75"),
        cache_write_1h=D("6"),
    )
    assert break_even_reads(rates) == D("0.25") / D("0.9")
    # 1-hour: (2 - 1) / 0.9
    assert break_even_reads(rates, one_hour=True) == D(1) / D("0.9")
    assert break_even_reads(Rates.build(input=D("1"), output=D("1"))) is None


# ---- properties -------------------------------------------------------------------------

rate = st.decimals(min_value=D("0"), max_value=D("100"), places=6)
tokens = st.integers(min_value=0, max_value=2_000_000)


@st.composite
def usages(draw: st.DrawFn) -> Usage:
    read, write, plain = draw(tokens), draw(tokens), draw(tokens)
    one_hour = draw(st.integers(min_value=0, max_value=write))
    return Usage(
        input_tokens=read + write + plain,
        cache_read_tokens=read,
        cache_write_tokens=write,
        cache_write_1h_tokens=one_hour,
        output_tokens=draw(tokens),
    )


@st.composite
def prices(draw: st.DrawFn, premium: bool = True) -> Price:
    base = draw(rate)
    read = draw(st.decimals(min_value=D("0"), max_value=base, places=6))
    write = draw(rate) if premium else base
    return Price(
        provider="p",
        model="m",
        currency="USD",
        source="catalogue",
        rates=Rates(
            input=base,
            output=draw(rate),
            cache_read=read,
            cache_write=write,
            cache_write_1h=draw(rate) if premium else base,
        ),
    )


@given(usages(), prices(premium=False))
def test_without_write_premium_cost_never_exceeds_nocache(usage: Usage, price: Price) -> None:
    charge = price_usage(usage, price)
    assert charge.cost <= charge.nocache_cost
    assert charge.write_premium == 0


@given(usages(), prices())
def test_cost_is_the_sum_of_its_parts(usage: Usage, price: Price) -> None:
    charge = price_usage(usage, price)
    parts = (
        charge.uncached_input
        + charge.cache_read
        + charge.cache_write_5m
        + charge.cache_write_1h
        + charge.output
    )
    assert charge.cost == parts
    assert charge.savings == charge.nocache_cost - parts


@given(usages(), usages(), prices())
def test_splitting_tokens_across_records_keeps_the_total(a: Usage, b: Usage, price: Price) -> None:
    whole = Usage(
        input_tokens=a.input_tokens + b.input_tokens,
        cache_read_tokens=a.cache_read_tokens + b.cache_read_tokens,
        cache_write_tokens=a.cache_write_tokens + b.cache_write_tokens,
        cache_write_1h_tokens=a.cache_write_1h_tokens + b.cache_write_1h_tokens,
        output_tokens=a.output_tokens + b.output_tokens,
    )
    assert price_usage(whole, price).cost == price_usage(a, price).cost + price_usage(b, price).cost
    assert price_usage(whole, price).nocache_cost == (
        price_usage(a, price).nocache_cost + price_usage(b, price).nocache_cost
    )


@given(st.integers(min_value=1, max_value=1_000_000), prices(), prices())
def test_tier_boundary_is_exact(threshold: int, low: Price, high: Price) -> None:
    price = Price(
        provider="p",
        model="m",
        currency="USD",
        source="catalogue",
        rates=low.rates,
        tiers=(Tier(above=threshold, rates=high.rates),),
    )
    assert price.rates_for(threshold) == low.rates
    assert price.rates_for(threshold + 1) == high.rates
