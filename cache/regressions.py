"""Regression detection, pure: is a recent window's cache hit rate (or cached TTFT) credibly
worse than its own baseline, and what most likely caused it?

The recent window adapts to volume: the shortest span of a ladder (5 minutes up to
`window_minutes`) that holds `min_requests`, so a key sending a request a second is judged on
its last five minutes and one sending a request every two minutes on its last 45. The evidence
rule is the same at every volume: a drop of at least `min_drop` that a one-sided
two-proportion z test puts at least `z` standard errors below the baseline. While a regression
is open it is judged against the baseline frozen when it opened, so an outage never becomes its
own baseline.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cache.misses import BELOW_MINIMUM, NOT_COMPARED, PREFIX_CHANGED, TTL_EXPIRED

PROVIDER_WIDE = "provider_eviction"
UNKNOWN = "unknown"
CAUSES = (PREFIX_CHANGED, BELOW_MINIMUM, TTL_EXPIRED)


# Recent-window spans, in minutes, tried shortest first (capped by window_minutes).
LADDER = (5, 10, 15, 30, 45, 60, 90, 120, 180, 240, 360, 480, 720, 1440)


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Thresholds. `window_minutes` is the longest recent window; shorter ones are used when
    they hold `min_requests` (see `window_spans`)."""

    window_minutes: int = 120
    baseline_hours: int = 24
    min_requests: int = 10
    min_drop: float = 0.1  # absolute drop in request hit rate
    # One-sided two-proportion z score. 4.5 (p ~ 3e-6 per check) keeps a key checked every
    # minute for a month under one false alarm, also at high volume where windows are short.
    z: float = 4.5
    ttft_factor: float = 1.5  # cached TTFT p50 this much slower than baseline


def window_spans(config: DetectorConfig) -> tuple[int, ...]:
    """The recent-window spans to try, shortest first, ending with `window_minutes`."""
    return (*(m for m in LADDER if m < config.window_minutes), config.window_minutes)


def pick_span(requests_within: Callable[[int], int], config: DetectorConfig) -> int:
    """The shortest span (minutes) whose requests, `requests_within(span)` of them, reach
    `min_requests`; else the longest."""
    spans = window_spans(config)
    for span in spans:
        if requests_within(span) >= config.min_requests:
            return span
    return spans[-1]


@dataclass(frozen=True, slots=True)
class Window:
    """Traffic of one key over one window."""

    requests: int
    hits: int
    causes: Mapping[str, int] = field(default_factory=dict)
    new_prefixes: int = 0  # prefix_hash values not seen in the baseline
    ttft_cached_p50: float | None = None
    ttft_cached_count: int = 0
    # A baseline's between-hour spread of the hit rate beyond binomial noise (`spread`): real
    # traffic drifts hour by hour, and a drop within that drift is no evidence.
    spread: float = 0.0
    # Misses the provider diagnosed itself, by its reason (cache diagnostics).
    diagnosed: Mapping[str, int] = field(default_factory=dict)

    @property
    def hit_rate(self) -> float:
        """Requests with a cache read over requests."""
        return self.hits / self.requests if self.requests else 0.0


def spread(hours: Sequence[tuple[int, int]]) -> float:
    """The standard deviation of hourly hit rates that binomial noise does not explain, from
    (requests, hits) per hour: 0 when the hours agree as chance would have them agree."""
    used = [(n, h) for n, h in hours if n > 0]
    total = sum(n for n, _ in used)
    if len(used) < 2 or total == 0:
        return 0.0
    rate = sum(h for _, h in used) / total
    observed = sum(n * (h / n - rate) ** 2 for n, h in used) / total
    chance = rate * (1 - rate) * len(used) / total
    # Only a spread the hours show beyond doubt (dispersion three standard errors above 1):
    # with few requests an hour, chance alone makes the hours disagree, and a spread read
    # from that noise would blunt detection where it is slowest already.
    degrees = len(used) - 1
    if chance == 0 or observed / chance < 1 + 3 * math.sqrt(2 / degrees):
        return 0.0
    return math.sqrt(observed - chance)


def z_score(baseline: Window, recent: Window) -> float:
    """How many standard errors the recent hit rate sits below the baseline's (binomial error of
    both, plus the baseline's between-hour spread)."""
    n1, n2 = baseline.requests, recent.requests
    pooled = (baseline.hits + recent.hits) / (n1 + n2)
    error = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2) + baseline.spread**2)
    drop = baseline.hit_rate - recent.hit_rate
    if error == 0:
        return math.inf if drop > 0 else 0.0
    return drop / error


def chance_of_so_few_hits(baseline: Window, recent: Window) -> float:
    """The probability of at most `recent.hits` hits in `recent.requests` requests were the
    baseline's rate still in force: exact (beta-binomial), not a normal approximation, whose
    tails are far too thin near 0% and 100% and in small windows.

    The recent window's rate is taken to vary around the baseline rate as the baseline's own
    hours do (`spread`), plus the baseline's sampling error; with neither, it is binomial.
    """
    n, hits = recent.requests, recent.hits
    p = min(max(baseline.hit_rate, 1e-9), 1 - 1e-9)
    variance = baseline.spread**2 + p * (1 - p) / max(baseline.requests, 1)
    size = p * (1 - p) / variance - 1
    if size <= 0:
        return 1.0
    a, b = p * size, (1 - p) * size
    log_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) - math.lgamma(n + a + b)
    log_n = math.lgamma(n + 1)
    terms = [
        log_n
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + math.lgamma(k + a)
        + math.lgamma(n - k + b)
        + log_norm
        for k in range(hits + 1)
    ]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def hit_rate_regressed(baseline: Window, recent: Window, config: DetectorConfig) -> bool:
    """Open: enough traffic, a large drop, and one that chance (the baseline's rate, with its
    own hour-to-hour spread) explains with probability below the z threshold's one-sided tail."""
    if baseline.requests < config.min_requests or recent.requests < config.min_requests:
        return False
    if baseline.hit_rate - recent.hit_rate < config.min_drop:
        return False
    return chance_of_so_few_hits(baseline, recent) <= 0.5 * math.erfc(config.z / math.sqrt(2))


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


def provider_cause(recent: Window) -> str | None:
    """The provider's own diagnosis of the window's misses (e.g. `system_changed`), when it
    diagnosed at least a tenth of the window's requests; None otherwise."""
    diagnosed = {r: n for r, n in recent.diagnosed.items() if r not in NOT_COMPARED}
    if not diagnosed or not recent.requests:
        return None
    reason, misses = max(diagnosed.items(), key=lambda item: (item[1], item[0]))
    return reason if misses / recent.requests >= 0.1 else None


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


def assess(
    frozen: Window | None,
    baseline: Window | None,
    recent: Window | None,
    config: DetectorConfig,
) -> str | None:
    """ "open", "close" or None for one key's hit rate. With an open regression, `frozen` is the
    baseline it opened against: it closes when the rate is back near that, never against a
    baseline the outage itself has dragged down."""
    if frozen is not None:
        if recent is not None and hit_rate_recovered(frozen, recent, config):
            return "close"
        return None
    if baseline is not None and recent is not None and hit_rate_regressed(baseline, recent, config):
        return "open"
    return None


def merged_periods(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """The union of [start, end) periods as disjoint periods in time order (empty ones dropped)."""
    out: list[tuple[datetime, datetime]] = []
    for start, end in sorted(s for s in spans if s[0] < s[1]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out
