"""FOCUS 1.0 rows: each charge part its own row and SKU, list and contracted layers, the
no-cache counterfactual in x_ columns; the FinOps Foundation's validator passes them."""

from __future__ import annotations

import csv
import io
import os
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from reports.focus import COLUMNS, FOCUS_1_0, ChargeLine, decimal_text, focus_csv, focus_row
from reports.focus_export import CACHED, publisher

ROOT = Path(__file__).resolve().parents[1]
VALIDATOR = ROOT / ".venv-focus" / "bin" / "focus-validator"
NOVEMBER = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
HOUR = (datetime(2026, 11, 20, 10, tzinfo=UTC), datetime(2026, 11, 20, 11, tzinfo=UTC))


def _line(part: str, quantity: int | str, billed: str, **extra: object) -> ChargeLine:
    values: dict[str, object] = {
        "billing_period": NOVEMBER,
        "charge_period": HOUR,
        "tenant": "acme",
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "part": part,
        "quantity": Decimal(quantity),
        "billed_cost": Decimal(billed),
        "list_cost": Decimal(billed),
        "currency": "USD",
        "nocache_cost": Decimal(billed),
        "app": "code-review",
        "team": "platform",
        "environment": "prod",
        **extra,
    }
    return ChargeLine(**values)  # type: ignore[arg-type]


# Claude Sonnet 4.5 list prices per MTok: $3 input, $0.30 cache read, $3.75 5-minute write,
# $6 1-hour write, $15 output. Gemini 2.5 Pro explicit-cache storage: $4.50 per MTok-hour.
LINES = [
    # 100,000 read: $0.03; without the cache, 100,000 input tokens: $0.30.
    _line(
        "cache_read", 100_000, "0.03", nocache_cost=Decimal("0.3"), tags={"prompt_cache_key": "k"}
    ),
    # 40,000 written for 5 minutes: $0.15, against $0.12 as plain input.
    _line("cache_write_5m", 40_000, "0.15", nocache_cost=Decimal("0.12")),
    # 10,000 written for an hour: $0.06, against $0.03.
    _line("cache_write_1h", 10_000, "0.06", nocache_cost=Decimal("0.03")),
    _line("uncached_input", 2_000, "0.006"),
    # 200,000 output at a negotiated $12 (list $15): billed $2.40, list $3.00.
    _line("output", 200_000, "2.4", list_cost=Decimal("3"), price_id="tenant-price-7"),
    # 3 web searches at $10 per 1,000, through OpenRouter (who resold Anthropic's model).
    _line("tool_fees", 3, "0.03", provider="openrouter", publisher="anthropic"),
    # 2 MTok-hours of a Gemini cache, billed in EUR, in a region.
    _line(
        "storage",
        "2",
        "8.28",
        list_cost=Decimal("8.28"),
        nocache_cost=Decimal(0),
        provider="google",
        model="gemini-2.5-pro",
        currency="EUR",
        region="europe-west4",
        team=None,
    ),
]


def test_decimals_always_have_a_point() -> None:
    assert [decimal_text(Decimal(v)) for v in ("3", "0", "0.000", "1E+3", "2.50", "-0.5")] == [
        "3.0",
        "0.0",
        "0.0",
        "1000.0",
        "2.5",
        "-0.5",
    ]


def test_each_part_is_its_own_sku_with_both_price_layers() -> None:
    rows = {r["x_CachePart"]: r for r in map(focus_row, LINES)}
    read = rows["cache_read"]
    assert read["SkuId"] == "anthropic/claude-sonnet-4-5/cache-read"
    assert (read["ConsumedQuantity"], read["ConsumedUnit"]) == ("100000.0", "Tokens")
    # 100,000 tokens are 0.1 of the per-million pricing unit: $0.03 / 0.1 = $0.30 per MTok.
    assert (read["PricingQuantity"], read["PricingUnit"]) == ("0.1", "1M Tokens")
    assert read["ListUnitPrice"] == read["ContractedUnitPrice"] == "0.3"
    assert (read["x_NoCacheCost"], read["x_Savings"]) == ("0.3", "0.27")
    assert read["Tags"] == (
        '{"app": "code-review", "environment": "prod", "prompt_cache_key": "k", "team": "platform"}'
    )
    assert read["ChargePeriodStart"] == "2026-11-20T10:00:00Z"
    assert read["BillingPeriodEnd"] == "2026-12-01T00:00:00Z"
    assert rows["cache_write_1h"]["x_Savings"] == "-0.03"
    output = rows["output"]
    assert (output["ListCost"], output["ContractedCost"], output["BilledCost"]) == (
        "3.0",
        "2.4",
        "2.4",
    )
    assert (output["ListUnitPrice"], output["ContractedUnitPrice"]) == ("15.0", "12.0")
    assert output["SkuPriceId"] == "tenant-price-7"
    storage = rows["storage"]
    assert (storage["ConsumedUnit"], storage["PricingUnit"]) == ("MTok-hours", "1M Token-hours")
    assert storage["ContractedUnitPrice"] == "4.14"
    assert (storage["ProviderName"], storage["PublisherName"]) == ("google", "google")
    assert storage["InvoiceIssuerName"] == "google"
    # A gateway bills for the model it resells: it is provider and invoice issuer, the
    # model's maker its publisher.
    fees = rows["tool_fees"]
    assert (fees["ProviderName"], fees["InvoiceIssuerName"], fees["PublisherName"]) == (
        "openrouter",
        "openrouter",
        "anthropic",
    )
    assert (storage["RegionId"], storage["SubAccountId"], storage["BillingCurrency"]) == (
        "europe-west4",
        "",
        "EUR",
    )
    # The validator's draft names repeat the final columns.
    assert (fees["Provider"], fees["InvoiceIssuer"], fees["Publisher"]) == (
        "openrouter",
        "openrouter",
        "anthropic",
    )
    assert storage["ResourceID"] == "code-review"


@pytest.mark.parametrize(
    ("provider", "model", "maker"),
    [
        # Canonical names as the store keeps them (billing.aliases.canonical_model).
        ("openrouter", "claude-sonnet-4-5", "anthropic"),
        ("aws", "claude-sonnet-4-5", "anthropic"),
        ("azure", "gpt-4.1", "openai"),
        ("groq", "gpt-oss-120b", "openai"),
        ("openrouter", "meta-llama/llama-3.1-8b-instruct", "meta-llama"),
        ("anthropic", "claude-sonnet-4-5", "anthropic"),
        # A model no catalogue places is its provider's.
        ("groq", "llama-3.3-70b-versatile", "groq"),
        ("openai", None, "openai"),
    ],
)
def test_the_publisher_is_the_models_maker(provider: str, model: str | None, maker: str) -> None:
    assert publisher(provider, model) == maker


def test_the_csv_streams_every_column_in_order() -> None:
    chunks = list(focus_csv(LINES))
    # The header with the first row, then one row a chunk.
    assert len(chunks) == len(LINES) + 1
    rows = list(csv.DictReader(io.StringIO("".join(chunks))))
    assert list(rows[0]) == list(COLUMNS) and list(COLUMNS)[: len(FOCUS_1_0)] == list(FOCUS_1_0)
    assert sum(Decimal(r["BilledCost"]) for r in rows if r["BillingCurrency"] == "USD") == (
        Decimal("2.676")
    )
    assert "".join(focus_csv([])).strip() == ",".join(COLUMNS)


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    """The FinOps Foundation's validator (FOCUS 1.0) on a CSV file."""
    if not VALIDATOR.exists():
        if os.environ.get("CI"):
            pytest.fail("CI must run the FOCUS validator: `make test` installs it (.venv-focus)")
        pytest.skip("the FOCUS validator is not installed (make .venv-focus/.installed-stamp)")
    site = subprocess.run(
        [
            str(VALIDATOR.with_name("python")),
            "-c",
            "import focus_validator as f; print(f.__path__[0])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # The validator reads its currency list by a path relative to its package's parent.
    return subprocess.run(
        [str(VALIDATOR), "--data-file", str(path), "--validate-version", "1.0"],
        capture_output=True,
        text=True,
        cwd=Path(site).parent,
        timeout=300,
    )


def test_the_focus_validator_passes_the_rows(tmp_path: Path) -> None:
    path = tmp_path / "focus.csv"
    path.write_text("".join(focus_csv(LINES)))
    result = validate(path)
    assert result.returncode == 0 and "Validation succeeded" in result.stdout, result.stdout


def test_the_no_cache_cost_of_a_group_is_shared_by_its_parts() -> None:
    from types import SimpleNamespace

    from reports.focus_export import _nocache_by_part

    def group(nocache: str, read: int, write_5m: int, write_1h: int) -> SimpleNamespace:
        return SimpleNamespace(
            nocache_cost=Decimal(nocache),
            uncached_input_tokens=1000,
            cache_read_tokens=read,
            cache_write_5m_tokens=write_5m,
            cache_write_1h_tokens=write_1h,
            output_tokens=500,
            tool_calls=0,
        )

    cost = {
        "uncached_input": Decimal("0.003"),
        "cache_read": Decimal("0.0012"),
        "cache_write_5m": Decimal("0.01125"),
        "cache_write_1h": Decimal("0.006"),
        "output": Decimal("0.0075"),
        "tool_fees": Decimal(0),
    }
    # Claude Sonnet 4.5 at $3 input: the 8,000 cached tokens would have cost $0.024 as input,
    # shared by their tokens: 4,000 read $0.012, 3,000 written for 5 minutes $0.009, 1,000 for
    # an hour $0.003; the uncached input and output cost what they cost.
    shares = _nocache_by_part(group("0.0345", 4000, 3000, 1000), cost)
    assert shares == {
        "uncached_input": Decimal("0.003"),
        "output": Decimal("0.0075"),
        "tool_fees": Decimal(0),
        "cache_read": Decimal("0.012"),
        "cache_write_5m": Decimal("0.009"),
        "cache_write_1h": Decimal("0.003"),
    }
    # Nothing cached, and a no-cache cost above the parts (a fee per request): it stays, on
    # the input, so the parts add up to the group.
    plain = _nocache_by_part(group("0.011", 0, 0, 0), {**cost, **dict.fromkeys(CACHED, Decimal(0))})
    assert plain["uncached_input"] == Decimal("0.0035")
    assert sum(plain.values()) == Decimal("0.011")
