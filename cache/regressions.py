"""Regression detection, pure: is a recent window's cache hit rate (or cached TTFT) credibly
worse than its own baseline, and what most likely caused it?"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from cache.misses import BELOW_MINIMUM, PREFIX_CHANGED, TTL_EXPIRED

PROVIDER_WIDE = "provider_eviction"
UNKNOWN = "unknown"
CAUSES = (PREFIX_CHANGED, BELOW_MINIMUM, TTL_EXPIRED)


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Thresholds; the defaults suit a few requests a minute per key."""

    window_minutes: int = 30
    baseline_hours: int = 24
    min_requests: int = 20
    min_drop: float = 0.2  # absolute drop in request hit rate
    z: float = 3.5  # one-sided two-proportion z score
    ttft_factor: float = 1.5  # cached TTFT p50 this much slower than baseline


@dataclass(frozen=True, slots=True)
class Window:
    """Traffic of one key over one window."""

    requests: int
    hits: int
    causes: Mapping[str, int] = field(default_factory=dict)
    new_prefixes: int = 0  # prefix_hash values not seen in the baseline
    ttft_cached_p50: float | None = None
    ttft_cached_count: int = 0

    @property
    def hit_rate(self) -> float:
        """Requests with a cache read over requests."""
        return self.hits / self.requests if self.requests else 0.0


def z_score(baseline: Window, recent: Window) -> float:
    """How many standard errors the recent hit rate sits below the baseline's."""
    n1, n2 = baseline.requests, recent.requests
    pooled = (baseline.hits + recent.hits) / (n1 + n2)
    error = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    drop = baseline.hit_rate - recent.hit_rate
    if error == 0:
        return math.inf if drop > 0 else 0.0
    return drop / error


def hit_rate_regressed(baseline: Window, recent: Window, config: DetectorConfig) -> bool:
    """Open: enough traffic, a large drop, and one that chance does not explain."""
    if baseline.requests < config.min_requests or recent.requests < config.min_requests:
        return False
    drop = baseline.hit_rate - recent.hit_rate
    return drop >= config.min_drop and z_score(baseline, recent) >= config.z


def hit_rate_recovered(baseline: Window, recent: Window, config: DetectorConfig) -> bool:
    """Close: back within half the opening drop of the baseline (hysteresis)."""
    if recent.requests < config.min_requests:
        return False
    return baseline.hit_rate - recent.hit_rate < config.min_drop / 2


def ttft_regressed(baseline: Window, recent: Window, config: DetectorConfig) -> bool:
    """Cached requests' median TTFT credibly slower than the baseline's."""
    if (
        baseline.ttft_cached_p50 is None
        or recent.ttft_cached_p50 is None
        or recent.ttft_cached_count < config.min_requests
        or baseline.ttft_cached_count < config.min_requests
    ):
        return False
    return recent.ttft_cached_p50 >= baseline.ttft_cached_p50 * config.ttft_factor


def ttft_recovered(baseline: Window, recent: Window, config: DetectorConfig) -> bool:
    """Cached TTFT back within half the opening margin."""
    if baseline.ttft_cached_p50 is None or recent.ttft_cached_p50 is None:
        return False
    if recent.ttft_cached_count < config.min_requests:
        return False
    return recent.ttft_cached_p50 < baseline.ttft_cached_p50 * (1 + (config.ttft_factor - 1) / 2)


def likely_cause(baseline: Window, recent: Window, provider_wide: bool) -> str:
    """The miss cause whose share of requests grew most; new prefixes count as prefix changes;
    a drop shared by the provider's other keys with no such cause points at the provider."""

    def share(window: Window, cause: str) -> float:
        return window.causes.get(cause, 0) / window.requests if window.requests else 0.0

    growth = {cause: share(recent, cause) - share(baseline, cause) for cause in CAUSES}
    if recent.requests:
        growth[PREFIX_CHANGED] = max(growth[PREFIX_CHANGED], recent.new_prefixes / recent.requests)
    cause, grown = max(growth.items(), key=lambda item: item[1])
    if grown >= 0.1:
        return cause
    return PROVIDER_WIDE if provider_wide else UNKNOWN
