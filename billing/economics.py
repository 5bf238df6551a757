"""Cache economics: when a paid cache write pays for itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from billing.charge import MTOK, to_money
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


@dataclass(frozen=True, slots=True)
class WhatIfCounts:
    """A prefix's 5-minute write tokens split by what a 1-hour TTL would have made of them."""

    hit_requests: int  # writes a 1-hour cache would have served
    hit_tokens: int  # their 5-minute write tokens, which would have been reads
    rewrite_tokens: int  # 5-minute write tokens still written, at the 1-hour rate

    def __add__(self, other: WhatIfCounts) -> WhatIfCounts:
        return WhatIfCounts(
            self.hit_requests + other.hit_requests,
            self.hit_tokens + other.hit_tokens,
            self.rewrite_tokens + other.rewrite_tokens,
        )

    @classmethod
    def of(cls, sums: Mapping[str, int]) -> WhatIfCounts:
        """From a prefix_hourly-shaped mapping (whatif_* columns)."""
        return cls(
            int(sums["whatif_hit_requests"]),
            int(sums["whatif_hit_tokens"]),
            int(sums["whatif_rewrite_tokens"]),
        )


def would_hit(gap_seconds: float | None) -> bool:
    """A 1-hour cache would have served a request whose prefix was last used this long ago
    (a 5-minute cache would not have)."""
    return gap_seconds is not None and FIVE_MINUTES < gap_seconds <= ONE_HOUR


def what_if_counts(requests: Sequence[PrefixRequest]) -> WhatIfCounts:
    """Classify a prefix's requests (time order).

    A request that wrote the prefix again although the previous request of the same prefix
    came less than an hour (but more than five minutes) before would have read it instead.
    Gaps are measured between consecutive requests because any request, hit or write,
    refreshes the cache.
    """
    hit_requests = hit_tokens = rewrite_tokens = 0
    previous: datetime | None = None
    for request in requests:
        short = request.cache_write_tokens - request.cache_write_1h_tokens
        gap = (request.at - previous).total_seconds() if previous is not None else None
        if short > 0 and would_hit(gap):
            hit_requests += 1
            hit_tokens += short
        elif short > 0:
            rewrite_tokens += short
        previous = request.at
    return WhatIfCounts(hit_requests, hit_tokens, rewrite_tokens)


def what_if_priced(counts: WhatIfCounts, rates: Rates) -> WhatIf:
    """The bill change: would-be hits move from the write rate to the read rate, every
    remaining 5-minute write costs the 1-hour rate."""
    delta = (
        counts.hit_tokens * (rates.cache_read - rates.cache_write)
        + counts.rewrite_tokens * (rates.cache_write_1h - rates.cache_write)
    ) / MTOK
    return WhatIf(delta=to_money(delta), requests_that_would_hit=counts.hit_requests)


def what_if_one_hour(requests: Sequence[PrefixRequest], rates: Rates) -> WhatIf:
    """Re-price a prefix's requests (time order) as if its 5-minute writes were 1-hour writes."""
    return what_if_priced(what_if_counts(requests), rates)


MINUTES_A_DAY = 1440


@dataclass(frozen=True, slots=True)
class CacheSavings:
    """What caching saved over a window's priced requests: nocache cost minus cost (reads
    at their discount, less any write premium), and the input tokens those requests sent."""

    input_tokens: int
    savings: Decimal


def regression_cost_per_day(
    baseline: CacheSavings, recent: CacheSavings, recent_minutes: int
) -> Decimal | None:
    """The extra spend a day a cache regression causes: what the recent requests would have
    saved at the baseline's savings per input token, less what they did save, at the recent
    window's pace. Tokens no longer read are paid at the input rate instead of the read
    rate, and their rewrites at the write premium, at the rates the requests were priced
    at. None when either window has no priced input; never below 0."""
    if baseline.input_tokens <= 0 or recent.input_tokens <= 0 or recent_minutes <= 0:
        return None
    expected = baseline.savings * recent.input_tokens / baseline.input_tokens
    lost = max(Decimal(0), expected - recent.savings)
    return to_money(lost * MINUTES_A_DAY / recent_minutes)
