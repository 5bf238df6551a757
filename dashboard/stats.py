"""Pure statistics for the dashboard: histogram percentiles and the TTFT fit with its R²."""

from __future__ import annotations

from collections.abc import Mapping

from store.models import TTFT_EDGES_MS


def percentile(counts: Mapping[int, int], q: float) -> float | None:
    """The q-quantile (0..1) of a TTFT histogram {bucket: count}, interpolated within a bucket."""
    total = sum(counts.values())
    if total == 0:
        return None
    target = q * total
    seen = 0
    for bucket in sorted(counts):
        count = counts[bucket]
        if seen + count >= target and count:
            low = TTFT_EDGES_MS[bucket - 1] if bucket > 0 else 0.0
            high = TTFT_EDGES_MS[bucket] if bucket < len(TTFT_EDGES_MS) else low * 1.25
            return low + (high - low) * (target - seen) / count
        seen += count
    return TTFT_EDGES_MS[-1]


def ms_per_token(n: float, sx: float, sy: float, sxx: float, sxy: float) -> float | None:
    """Least-squares slope of TTFT (ms) on uncached input tokens: the prefill time one cached
    token saves. None without enough spread in the data."""
    denominator = n * sxx - sx * sx
    if n < 3 or denominator <= 0:
        return None
    return (n * sxy - sx * sy) / denominator


def r_squared(n: float, sx: float, sy: float, sxx: float, sxy: float, syy: float) -> float | None:
    """Coefficient of determination of that least-squares line: the share of TTFT's variance
    that uncached input tokens explain, 0 to 1. None without spread in either."""
    spread_x = n * sxx - sx * sx
    spread_y = n * syy - sy * sy
    if n < 3 or spread_x <= 0 or spread_y <= 0:
        return None
    covariance = n * sxy - sx * sy
    # Sums of float8 carry rounding: a perfect line may come out a hair above 1.
    return min(1.0, covariance * covariance / (spread_x * spread_y))
