"""`cachemeter prices show|sync|add` with discounts, and `cachemeter fx`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from cachemeter.cli.main import main
from store.fx import load_fx
from store.prices import load_price_book


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    assert main(list(args)) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_show_explains_which_layer_won(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    shown = _json(capsys, "prices", "show", "anthropic", "claude-sonnet-4-5", "--tenant", "acme")
    assert shown["price"]["layer"] == "genai-prices"
    assert shown["why"][0] == "tenant acme: no entry for anthropic/claude-sonnet-4-5"
    assert shown["price"]["input_mtok"] == "3" and shown["price"]["tiers"][0]["above"] == 200_000
    assert (
        main(
            [
                "prices",
                "add",
                "--provider",
                "anthropic",
                "--model",
                "claude-sonnet-4-5",
                "--tenant",
                "acme",
                "--discount-pct",
                "20",
                "--effective-from",
                "2026-01-01",
            ]
        )
        == 0
    )
    capsys.readouterr()
    shown = _json(
        capsys,
        "prices",
        "show",
        "anthropic",
        "claude-sonnet-4-5",
        "--tenant",
        "acme",
        "--at",
        "2026-11-01T00:00:00Z",
    )
    assert shown["price"]["layer"] == "tenant"
    assert shown["price"]["input_mtok"] == "2.4"  # 80% of the $3 list price
    assert "20% off the list price" in shown["why"][0]
    before = _json(
        capsys,
        "prices",
        "show",
        "anthropic",
        "claude-sonnet-4-5",
        "--tenant",
        "acme",
        "--at",
        "2025-12-31",
    )
    assert before["price"]["layer"] == "genai-prices"
    assert "none in force" in before["why"][0]


def test_show_unknown_model(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    shown = _json(capsys, "prices", "show", "stepfun", "step-9")
    assert shown["price"] is None and "step-9" in shown["unpriced_reason"]


def test_discount_and_rates_are_exclusive(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "prices",
                "add",
                "--provider",
                "openai",
                "--model",
                "*",
                "--discount-pct",
                "10",
                "--input",
                "1",
                "--output",
                "2",
            ]
        )
        == 2
    )
    assert "either rates or discount_pct" in capsys.readouterr().err
    assert main(["prices", "add", "--provider", "openai", "--model", "gpt-5.1"]) == 2
    assert "input_mtok and output_mtok are required" in capsys.readouterr().err


def test_sync_reports_changes_and_a_data_file_becomes_the_list_price(
    cli_db: str, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _json(capsys, "prices", "sync")
    assert first["first_sync"] and first["models"] > 100
    again = _json(capsys, "prices", "sync")
    assert (again["added"], again["removed"], again["changed"]) == (0, [], [])
    data = [
        {
            "id": "anthropic",
            "name": "Anthropic",
            "api_pattern": "anthropic",
            "models": [
                {
                    "id": "claude-sonnet-4-5",
                    "match": {"starts_with": "claude-sonnet-4-5"},
                    "prices": {"input_mtok": 2.5, "output_mtok": 12, "cache_read_mtok": 0.25},
                }
            ],
        }
    ]
    file = tmp_path / "data.json"
    file.write_text(json.dumps(data))
    changed = _json(capsys, "prices", "sync", "--file", str(file))
    [sonnet] = [c for c in changed["changed"] if c["model"] == "anthropic/claude-sonnet-4-5"]
    assert (sonnet["before"]["input_mtok"], sonnet["after"]["input_mtok"]) == ("3", "2.5")
    assert "openai/gpt-5.1" in changed["removed"]
    with engine.connect() as conn:
        book = load_price_book(conn)
    price = book.resolve("anthropic", "claude-sonnet-4-5", datetime.now(UTC))
    assert price.rates.input == Decimal("2.5") and "data file" in str(price.ref)
    file.write_text('[{"id": 1}]')
    assert main(["prices", "sync", "--file", str(file)]) == 2
    assert "not genai-prices data" in capsys.readouterr().err


def test_fx_add_load_list_and_errors(
    cli_db: str, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fx", "add", "USD", "CNY", "7.25", "--effective-from", "2026-01-01"]) == 0
    csv_file = tmp_path / "rates.csv"
    csv_file.write_text(
        "from,to,rate,effective_from\nEUR,USD,1.10,2026-01-01\nEUR,USD,1.20,2026-06-01\n"
    )
    assert main(["fx", "load", str(csv_file)]) == 0
    capsys.readouterr()
    listed = _json(capsys, "fx", "list")
    assert [(r["from"], r["to"], r["rate"]) for r in listed] == [
        ("EUR", "USD", "1.1"),
        ("EUR", "USD", "1.2"),
        ("USD", "CNY", "7.25"),
    ]
    with engine.connect() as conn:
        fx = load_fx(conn)
    assert fx.convert(Decimal("7.25"), "CNY", "USD", datetime(2026, 11, 1, tzinfo=UTC)) == 1
    bad = tmp_path / "bad.json"
    for content, message in [
        ('[{"from": "USD", "to": "CNY", "rate": -1, "effective_from": "2026-01-01"}]', "positive"),
        ('[{"from": "USD", "to": "CNY", "rate": 7}]', "effective_from"),
        (
            '[{"from": "DOLLAR", "to": "CNY", "rate": 7, "effective_from": "2026-01-01"}]',
            "3-letter",
        ),
    ]:
        bad.write_text(content)
        assert main(["fx", "load", str(bad)]) == 2
        assert message in capsys.readouterr().err
