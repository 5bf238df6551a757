"""Money as people read it, the same on the dashboard's pages and in the CLI's tables (JSON
and CSV keep every digit): thousands separators, the currency code."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def money(value: Decimal | float | str | None, currency: str | None) -> str:
    """1234.5 USD -> "1,234.50 USD"; under 1, four decimals, so a small charge is not 0.00."""
    if value is None:
        return "n/a"
    # Through str, so a float is read as it prints (0.1, not its binary expansion).
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    small = amount.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    # Judged once rounded, so 0.99996 reads 1.00, not 1.0000.
    digits = 2 if abs(small) >= 1 or amount == 0 else 4
    rounded = amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return f"{rounded:,.{digits}f} {currency or ''}".strip()


def money_total(value: Decimal | str, currency: str | None) -> str:
    """A total as finance reads it, always 2 decimals: 17.8848 USD -> "17.88 USD"."""
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    rounded = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{rounded:,.2f} {currency or ''}".strip()
