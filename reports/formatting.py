"""Money as people read it, the same on the dashboard's pages, in the CLI's tables and in the
webhook's messages (JSON and CSV keep every digit)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

CENT = Decimal("0.01")


def money(value: Decimal | float | str | None, currency: str | None) -> str:
    """An amount as finance reads it: 2 decimals rounded half up, thousands separators, the
    currency code ("1,234.50 USD"). A charge under half a cent reads "< 0.01 USD", so it is
    not taken for none."""
    if value is None:
        return "n/a"
    # Through str, so a float is read as it prints (0.1, not its binary expansion).
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    if not amount.is_finite():
        return "n/a"
    # Precision for any amount (28 digits would not hold 10^27 to the cent); + 0 drops the sign
    # of a zero.
    with localcontext(prec=max(28, amount.adjusted() + 4)):
        rounded = amount.quantize(CENT, rounding=ROUND_HALF_UP) + 0
    code = f" {currency}" if currency else ""
    if rounded == 0 and amount != 0:
        return f"< 0.01{code}" if amount > 0 else f"> -0.01{code}"
    return f"{rounded:,.2f}{code}"
