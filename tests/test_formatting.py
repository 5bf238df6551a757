"""Money as people read it: one function for the dashboard's pages and the CLI's tables."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reports.formatting import money


@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [
        (Decimal("1234567.891"), "EUR", "1,234,567.89 EUR"),  # thousands separators
        (Decimal("1234.5"), "USD", "1,234.50 USD"),  # 2 decimals from 1 up
        (Decimal("1"), "USD", "1.00 USD"),
        (Decimal("0.99994"), "USD", "0.9999 USD"),  # under 1: 4 decimals
        (Decimal("0.99995"), "USD", "1.00 USD"),  # which round (half up) to 1
        (Decimal("0.0252"), "USD", "0.0252 USD"),  # a small charge is not 0.00
        (Decimal("0.000049"), "USD", "0.0000 USD"),
        (Decimal("0"), "USD", "0.00 USD"),
        (Decimal("2.675"), "USD", "2.68 USD"),  # half up, as on an invoice
        (Decimal("-1.343874945813"), "USD", "-1.34 USD"),  # a loss keeps its sign
        (0.1, "USD", "0.1000 USD"),  # a float as it prints, not its binary expansion
        ("17.875", "CNY", "17.88 CNY"),  # a decimal string, as the reports' JSON has
        (Decimal("5"), None, "5.00"),  # no currency: no trailing space
        (None, "USD", "n/a"),
    ],
)
def test_money(value: Decimal | float | str | None, currency: str | None, shown: str) -> None:
    assert money(value, currency) == shown


def test_totals_have_two_decimals() -> None:
    from reports.formatting import money_total

    assert money_total(Decimal("17.8848"), "USD") == "17.88 USD"
    assert money_total("0.8136", "USD") == "0.81 USD"
    assert money_total(Decimal("1234.565"), "EUR") == "1,234.57 EUR"
