"""Cache economics: when a paid cache write pays for itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from billing.charge import MONEY_QUANTUM, MTOK
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


FIVE_MINUTES = 300
ONE_HOUR = 3600


@dataclass(frozen=True, slots=True)
class PrefixRequest:
    """One request of a prefix, as the what-if needs it."""

    at: datetime
    cache_read_tokens: int
    cache_write_tokens: int
    cache_write_1h_tokens: int


@dataclass(frozen=True, slots=True)
class WhatIf:
    """The change to a prefix's bill had every write used a 1-hour TTL."""

    delta: Decimal
    requests_that_would_hit: int


def what_if_one_hour(requests: Sequence[PrefixRequest], rates: Rates) -> WhatIf:
    """Re-price a prefix's requests (time order) as if its 5-minute writes were 1-hour writes.

    A request that wrote the prefix again although the previous request of the same prefix
    came less than an hour (but more than five minutes) before would have read it instead:
    those written tokens move from the write rate to the read rate. Every 5-minute write that
    remains costs the 1-hour rate. Gaps are measured between consecutive requests because any
    request, hit or write, refreshes the cache.
    """
    delta = Decimal(0)
    hits = 0
    previous: datetime | None = None
    for request in requests:
        short = request.cache_write_tokens - request.cache_write_1h_tokens
        gap = (request.at - previous).total_seconds() if previous is not None else None
        if short and gap is not None and FIVE_MINUTES < gap <= ONE_HOUR:
            delta += short * (rates.cache_read - rates.cache_write) / MTOK
            hits += 1
        elif short:
            delta += short * (rates.cache_write_1h - rates.cache_write) / MTOK
        previous = request.at
    return WhatIf(delta=delta.quantize(MONEY_QUANTUM), requests_that_would_hit=hits)
