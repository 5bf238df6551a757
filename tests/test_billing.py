"""Pricing engine: formulas of DESIGN.md checked against hand arithmetic from published prices."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from billing import CatalogueEntry, PriceBook, PriceNotFound, Rates, Usage, price_usage
from billing.aliases import bedrock_base, canonical_provider
from billing.price import Price, Tier

AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _entry(provider: str, model: str, **rates: str) -> CatalogueEntry:
    values = {k: D(v) for k, v in rates.items()}
    return CatalogueEntry(
        provider=provider,
        model=model,
        currency="USD",
        rates=Rates.build(
            input=values["input"],
            output=values["output"],
            cache_read=values.get("cache_read"),
            cache_write=values.get("cache_write"),
            cache_write_1h=values.get("cache_write_1h"),
        ),
    )


def test_venice_claude_opus_published_example() -> None:
    # Venice lists Claude Opus 4.5 at $6.00 input, $0.60 cache read, $7.50 cache write per MTok.
    book = PriceBook(
        [
            _entry(
                "venice",
                "claude-opus-4-5",
                input="6.00",
                output="30",
                cache_read="0.60",
                cache_write="7.50",
            )
        ],
        use_genai_prices=False,
    )
    usage = Usage(input_tokens=5_500, cache_read_tokens=5_000)
    price = book.resolve("venice", "claude-opus-4-5", AT)
    charge = price_usage(usage, price)
    # 500 x 6.00/1e6 + 5000 x 0.60/1e6 = 0.003 + 0.003
    assert charge.cost == D("0.006")
    # 5500 x 6.00/1e6
    assert charge.nocache_cost == D("0.033")
    assert charge.savings == D("0.027")
    assert round(charge.savings / charge.nocache_cost * 100) == 82
    assert price.source == "catalogue"


def test_stepfun_cached_at_twenty_percent() -> None:
    usage = Usage(input_tokens=591, cache_read_tokens=512, output_tokens=120)
    assert usage.uncached_input_tokens == 79
    # Stepfun bills cached input at 20% of the input rate; here 5 CNY/MTok -> 1 CNY/MTok.
    entry = CatalogueEntry(
        provider="stepfun",
        model="step-1o-turbo-vision",
        currency="CNY",
        rates=Rates.build(input=D("5"), output=D("20"), cache_read=D("1")),
    )
    charge = price_usage(
        usage,
        PriceBook([entry], use_genai_prices=False).resolve("stepfun", "step-1o-turbo-vision", AT),
    )
    assert charge.currency == "CNY"
    # 79 x 5 + 512 x 1 + 120 x 20 = 395 + 512 + 2400 = 3307 CNY per MTok of requests
    assert charge.cost == D("0.003307")
    # 591 x 5 + 120 x 20 = 2955 + 2400 = 5355
    assert charge.nocache_cost == D("0.005355")


def test_anthropic_fixture_priced_from_genai_prices() -> None:
    # Claude Opus 4.8 list price: $5 input, $25 output; read 0.1x = $0.50; 5m write 1.25x = $6.25.
    usage = Usage(
        input_tokens=189_360, cache_read_tokens=188_086, cache_write_tokens=1_253, output_tokens=393
    )
    price = PriceBook().resolve("anthropic", "claude-opus-4-8", AT)
    assert price.source == "genai-prices"
    charge = price_usage(usage, price)
    assert charge.uncached_input == D("0.000105")  # 21 x 5
    assert charge.cache_read == D("0.094043")  # 188086 x 0.5
    assert charge.cache_write_5m == D("0.00783125")  # 1253 x 6.25
    assert charge.cache_write_1h == 0
    assert charge.output == D("0.009825")  # 393 x 25
    assert charge.cost == D("0.11180425")
    assert charge.nocache_cost == D("0.956625")  # 189360 x 5 + 393 x 25
    assert charge.savings == D("0.84482075")


def test_one_hour_writes_at_their_own_rate() -> None:
    # Claude Sonnet 4.5: $3 input; 5m write 1.25x = $3.75; 1h write 2x = $6.
    usage = Usage(input_tokens=3_010, cache_write_tokens=3_000, cache_write_1h_tokens=2_000)
    charge = price_usage(usage, PriceBook().resolve("anthropic", "claude-sonnet-4-5", AT))
    assert charge.cache_write_5m == D("0.00375")  # 1000 x 3.75
    assert charge.cache_write_1h == D("0.012")  # 2000 x 6
    assert charge.uncached_input == D("0.00003")  # 10 x 3
    # Writes never read: the cache cost money.
    assert charge.savings == D("0.00903") - D("0.01578")


def test_no_write_premium_means_input_rate() -> None:
    rates = Rates.build(input=D("2"), output=D("8"))
    assert (rates.cache_read, rates.cache_write, rates.cache_write_1h) == (D("2"), D("2"), D("2"))


@pytest.mark.parametrize(
    ("input_tokens", "input_rate", "read_rate", "output_rate"),
    [
        (200_000, D("1.25"), D("0.125"), D("10")),  # at the threshold: base rates
        (200_001, D("2.5"), D("0.25"), D("15")),  # past it: the whole request re-priced
    ],
)
def test_gemini_long_context_tier_both_sides(
    input_tokens: int, input_rate: D, read_rate: D, output_rate: D
) -> None:
    usage = Usage(input_tokens=input_tokens, cache_read_tokens=100_000, output_tokens=1_000)
    charge = price_usage(usage, PriceBook().resolve("gemini", "gemini-2.5-pro", AT))
    expected = (
        (input_tokens - 100_000) * input_rate + 100_000 * read_rate + 1_000 * output_rate
    ) / 1_000_000
    assert charge.cost == expected
    assert charge.rates.input == input_rate


def test_tier_choice_in_price() -> None:
    base = Rates.build(input=D("1"), output=D("2"))
    high = Rates.build(input=D("3"), output=D("4"))
    price = Price(
        provider="p",
        model="m",
        currency="USD",
        rates=base,
        source="catalogue",
        tiers=(Tier(above=1000, rates=high),),
    )
    assert price.rates_for(1000) is base
    assert price.rates_for(1001) is high


def test_layers_tenant_beats_catalogue_beats_genai() -> None:
    catalogue = _entry("anthropic", "claude-opus-4-5", input="4", output="20")
    negotiated = CatalogueEntry(
        provider="anthropic",
        model="claude-opus-4-5",
        currency="USD",
        tenant="acme",
        rates=Rates.build(input=D("3"), output=D("15")),
        id=7,
    )
    book = PriceBook([catalogue, negotiated])
    assert book.resolve("anthropic", "claude-opus-4-5", AT, "acme").rates.input == D("3")
    assert book.resolve("anthropic", "claude-opus-4-5", AT, "acme").source_id == 7
    assert book.resolve("anthropic", "claude-opus-4-5", AT, "other").source == "catalogue"
    genai = PriceBook().resolve("anthropic", "claude-opus-4-5", AT, "acme")
    assert (genai.source, genai.rates.input) == ("genai-prices", D("5"))


def test_effective_interval_is_half_open() -> None:
    old = CatalogueEntry(
        provider="stepfun",
        model="step-2",
        currency="CNY",
        rates=Rates.build(input=D("1"), output=D("1")),
        effective_to=datetime(2026, 6, 1, tzinfo=UTC),
    )
    new = CatalogueEntry(
        provider="stepfun",
        model="step-2",
        currency="CNY",
        rates=Rates.build(input=D("2"), output=D("2")),
        effective_from=datetime(2026, 6, 1, tzinfo=UTC),
    )
    book = PriceBook([old, new], use_genai_prices=False)
    assert (
        book.resolve("stepfun", "step-2", datetime(2026, 5, 31, 23, 59, tzinfo=UTC)).rates.input
        == 1
    )
    assert book.resolve("stepfun", "step-2", datetime(2026, 6, 1, tzinfo=UTC)).rates.input == 2


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("xai", "x-ai"),
        ("x-ai", "x-ai"),
        ("gemini", "google"),
        ("google", "google"),
        ("moonshot", "moonshotai"),
        ("moonshotai", "moonshotai"),
        ("bedrock", "aws"),
        ("Anthropic", "anthropic"),
        ("stepfun", "stepfun"),
    ],
)
def test_provider_aliases(alias: str, canonical: str) -> None:
    assert canonical_provider(alias) == canonical


@pytest.mark.parametrize("alias", ["xai", "x-ai"])
def test_xai_alias_finds_grok_price(alias: str) -> None:
    assert PriceBook().resolve(alias, "grok-4", AT).provider == "x-ai"


@pytest.mark.parametrize("alias", ["moonshot", "moonshotai"])
def test_moonshot_alias_finds_kimi_price(alias: str) -> None:
    assert PriceBook().resolve(alias, "kimi-k3", AT).rates.cache_read == D("0.3")


@pytest.mark.parametrize(
    ("model", "listed"),
    [
        ("anthropic.claude-sonnet-4-5", "regional.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        (
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "regional.anthropic.claude-sonnet-4-5-20250929-v1:0",
        ),
        (
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        ),
        (
            "arn:aws:bedrock:us-east-1:123:inference-profile/us.anthropic.claude-opus-4-5-v1:0",
            "regional.anthropic.claude-opus-4-5-v1:0",
        ),
    ],
)
def test_bedrock_model_ids_find_their_prices(model: str, listed: str) -> None:
    price = PriceBook().resolve("bedrock", model, AT)
    assert (price.provider, price.model) == ("aws", listed)


def test_bedrock_base() -> None:
    assert bedrock_base("eu.anthropic.claude-opus-4-5-20251101-v1:0") == (
        "regional",
        "anthropic.claude-opus-4-5",
    )


def test_gateway_vendor_prefix_falls_back_to_vendor() -> None:
    price = PriceBook().resolve("litellm", "anthropic/claude-opus-4-5", AT)
    assert (price.provider, price.rates.input) == ("anthropic", D("5"))


def test_unknown_model_is_not_priced_at_zero() -> None:
    with pytest.raises(PriceNotFound) as info:
        PriceBook().resolve("stepfun", "step-1o-turbo-vision", AT)
    assert "step-1o-turbo-vision" in info.value.reason
    with pytest.raises(PriceNotFound, match="no model"):
        PriceBook().resolve("openai", None, AT)


def test_the_price_book_lists_the_models_it_can_price() -> None:
    """Per provider, genai-prices' models and the stored catalogue's (a tenant's negotiated
    models for that tenant only; a "*" discount names no model)."""
    ours = CatalogueEntry(
        provider="stepfun",
        model="step-1o-turbo-vision",
        currency="CNY",
        rates=Rates.build(input=D("5"), output=D("20")),
    )
    negotiated = CatalogueEntry(
        provider="anthropic",
        model="claude-internal-x",
        currency="USD",
        rates=Rates.build(input=D("1"), output=D("2")),
        tenant="acme",
    )
    discount = CatalogueEntry(
        provider="openai", model="*", currency="USD", rates=None, tenant="acme", discount_pct=D(10)
    )
    book = PriceBook([ours, negotiated, discount])
    models = book.models("acme")
    assert "claude-sonnet-4-5" in models["anthropic"] and "claude-internal-x" in models["anthropic"]
    assert "step-1o-turbo-vision" in models["stepfun"]
    assert "*" not in models["openai"] and "gpt-5.1" in models["openai"]
    assert "claude-internal-x" not in book.models("globex")["anthropic"]
    assert models["anthropic"] == sorted(models["anthropic"])
