"""Cache economics: when a paid cache write pays for itself."""

from __future__ import annotations

from decimal import Decimal

from billing.price import Rates


def break_even_reads(rates: Rates, *, one_hour: bool = False) -> Decimal | None:
    """Reads needed for a write to pay off: (w - 1) / (1 - r), with w and r as multiples of
    the input rate. 0 when writes cost no premium; None when reads save nothing."""
    if rates.input == 0:
        return None
    write = (rates.cache_write_1h if one_hour else rates.cache_write) / rates.input
    read = rates.cache_read / rates.input
    if read >= 1:
        return None
    return max(Decimal(0), (write - 1) / (1 - read))
