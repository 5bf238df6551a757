"""Money as people read it: one function for the dashboard's pages, the CLI's tables and the
webhook."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reports.formatting import money


@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [
        (Decimal("1234567.891"), "EUR", "1,234,567.89 EUR"),  # thousands separators
        (Decimal("1234.5"), "USD", "1,234.50 USD"),  # always 2 decimals
        (Decimal("1"), "USD", "1.00 USD"),
        (Decimal("17.8848"), "USD", "17.88 USD"),
        (Decimal("0.99994"), "USD", "1.00 USD"),
        ("0.8136", "USD", "0.81 USD"),  # under 1 too: one precision in a column
        (Decimal("0.005"), "USD", "0.01 USD"),  # half a cent rounds up, as on an invoice
        (Decimal("0.000049"), "USD", "< 0.01 USD"),  # a charge is not shown as none
        (Decimal("-0.0049"), "USD", "> -0.01 USD"),
        (Decimal("0"), "USD", "0.00 USD"),
        (Decimal("2.675"), "USD", "2.68 USD"),  # half up
        (Decimal("1234.565"), "EUR", "1,234.57 EUR"),
        (Decimal("-1.343874945813"), "USD", "-1.34 USD"),  # a loss keeps its sign
        (0.1, "USD", "0.10 USD"),  # a float as it prints, not its binary expansion
        ("17.875", "CNY", "17.88 CNY"),  # a decimal string, as the reports' JSON has
        (Decimal("5"), None, "5.00"),  # no currency: no trailing space
        (Decimal("0.001"), None, "< 0.01"),
        (None, "USD", "n/a"),
        (Decimal("-0.000"), "USD", "0.00 USD"),  # no "-0.00"
        (Decimal("-0.004"), "USD", "> -0.01 USD"),
        (Decimal("NaN"), "USD", "n/a"),
        (Decimal("1e30"), "USD", "1,000,000,000,000,000,000,000,000,000,000.00 USD"),
    ],
)
def test_money(value: Decimal | float | str | None, currency: str | None, shown: str) -> None:
    assert money(value, currency) == shown
