"""Regression detection on synthetic streams: how soon a collapse is flagged at each traffic
level, and how many false regressions a month of stable, noisy traffic opens.

Runs the detector's own rules (cache.regressions: the volume-adaptive window, the evidence
test, the frozen baseline of an open regression) minute by minute over simulated traffic, the
way the service's monitor runs them over stored events. `make regression-bench` prints the
figures the README quotes.

Streams: Poisson arrivals at a daily profile (no traffic from 00:00 to 06:00, the nightly
gap; a morning and an afternoon peak), bursts (a tenth of the hours carry five times the
rate), and a hit probability that drifts hour by hour around the stream's own level
(60-95%), as real traffic does.
"""

from __future__ import annotations

import argparse
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from cache.regressions import DetectorConfig, Window, assess, pick_span, spread

DAY = 24 * 60
MONTH = 30 * DAY


@dataclass(frozen=True)
class Traffic:
    """Per-minute requests and hits of one key."""

    requests: list[int]
    hits: list[int]


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method for small means, a rounded normal for large ones (fine for traffic counts).
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _binomial(rng: random.Random, n: int, p: float) -> int:
    if n > 40:
        return min(n, max(0, round(rng.gauss(n * p, math.sqrt(n * p * (1 - p))))))
    return sum(rng.random() < p for _ in range(n))


def _profile(minute: int) -> float:
    """Share of the stream's mean rate at this minute of the day (0 in the nightly gap)."""
    hour = (minute % DAY) / 60
    if hour < 6:
        return 0.0
    return 0.6 + 0.5 * math.exp(-((hour - 10) ** 2) / 4) + 0.5 * math.exp(-((hour - 15) ** 2) / 4)


def simulate(
    rate_per_minute: float,
    hit_rate: Callable[[int], float],
    minutes: int,
    seed: int,
    *,
    daily: bool = True,
    drift: float = 0.02,
    bursts: bool = True,
) -> Traffic:
    """Traffic of one key: `hit_rate(minute)` is the true hit probability at each minute."""
    rng = random.Random(seed)
    requests, hits = [], []
    hour_drift, hour_burst = 0.0, 1.0
    for minute in range(minutes):
        if minute % 60 == 0:
            hour_drift = rng.gauss(0, drift) if drift else 0.0
            hour_burst = 5.0 if bursts and rng.random() < 0.1 else 1.0
        mean = rate_per_minute * (_profile(minute) if daily else 1.0) * hour_burst
        n = _poisson(rng, mean)
        p = min(1.0, max(0.0, hit_rate(minute) + (hour_drift if hit_rate(minute) > 0 else 0)))
        requests.append(n)
        hits.append(_binomial(rng, n, p))
    return Traffic(requests, hits)


@dataclass
class Opened:
    """A regression the replay opened (minutes from the stream's start)."""

    at: int
    closed: int | None = None


def detect(
    traffic: Traffic, config: DetectorConfig, start: int = DAY, every: int = 1
) -> list[Opened]:
    """Replay the detector every `every` minutes from `start` (after a day of baseline)."""
    cum_r, cum_h = [0], [0]
    for n, h in zip(traffic.requests, traffic.hits, strict=True):
        cum_r.append(cum_r[-1] + n)
        cum_h.append(cum_h[-1] + h)

    def total(a: int, b: int, cum: Sequence[int]) -> int:
        a, b = max(0, a), max(0, b)
        return cum[b] - cum[a] if b > a else 0

    found: list[Opened] = []
    frozen: Window | None = None
    base_minutes = config.baseline_hours * 60
    spreads: dict[tuple[int, int], float] = {}

    def hours_spread(b0: int, b1: int) -> float:
        # Clock hours inside the baseline, regression periods left out (cached per hour).
        key = (b1 // 60, len(found))
        if key not in spreads:
            hours = []
            for hour in range(max(0, b0) // 60, b1 // 60):
                lo, hi = hour * 60, hour * 60 + 60
                if any(o.at < hi and (o.closed is None or o.closed > lo) for o in found):
                    continue
                hours.append((total(lo, hi, cum_r), total(lo, hi, cum_h)))
            spreads[key] = spread(hours)
        return spreads[key]

    for now in range(start, len(traffic.requests) + 1, every):
        span = pick_span(partial(lambda end, within: total(end - within, end, cum_r), now), config)
        recent = Window(total(now - span, now, cum_r), total(now - span, now, cum_h))
        b0, b1 = now - span - base_minutes, now - span
        base_r, base_h = total(b0, b1, cum_r), total(b0, b1, cum_h)
        for past in found:
            # Regression periods are left out of the baseline (the monitor does the same).
            end = past.closed if past.closed is not None else now
            lo, hi = max(past.at, b0), min(end, b1)
            if lo < hi:
                base_r -= total(lo, hi, cum_r)
                base_h -= total(lo, hi, cum_h)
        # As the monitor does: the spread leaves out the baseline's last window_minutes.
        baseline = Window(base_r, base_h, spread=hours_spread(b0, b1 - config.window_minutes))
        action = assess(frozen, baseline, recent if recent.requests else None, config)
        if action == "open":
            found.append(Opened(now))
            frozen = baseline
        elif action == "close":
            found[-1].closed = now
            frozen = None
    return found


def steady(level: float) -> Callable[[int], float]:
    """A hit probability that stays at `level`."""
    return lambda minute: level


def collapse(level: float, to: float, at: int, until: int) -> Callable[[int], float]:
    """`level`, then `to` over [at, until)."""
    return lambda minute: to if at <= minute < until else level


@dataclass(frozen=True)
class Delay:
    """How long after the change a stream's regression opened (None: never)."""

    name: str
    minutes: int | None


def collapse_delays(config: DetectorConfig, seeds: Sequence[int]) -> list[Delay]:
    """Detection delay of each change scenario and seed."""
    change = DAY + 13 * 60  # 13:00 on the second day, in traffic hours
    scenarios = [
        ("1 request / 2 min, 88% -> 0 for 6 h", 0.5, 0.88, 0.0),
        ("1 request / s, 88% -> 0 for 6 h", 60.0, 0.88, 0.0),
        ("1 request / s, 90% -> 75% for 6 h", 60.0, 0.90, 0.75),
    ]
    out = []
    for name, rate, level, to in scenarios:
        for seed in seeds:
            traffic = simulate(
                rate,
                collapse(level, to, change, change + 360),
                change + 420,
                seed,
                daily=False,
                bursts=False,
            )
            found = detect(traffic, config)
            opened = [o for o in found if o.at >= change]
            false = [o for o in found if o.at < change]
            delay = opened[0].at - change if opened and not false else None
            out.append(Delay(f"{name} (seed {seed})", delay))
    return out


STABLE = [(rate, level) for rate in (0.5, 5.0, 20.0) for level in (0.6, 0.8, 0.95)]


def false_alarms(config: DetectorConfig, seeds: Sequence[int], days: int = 30) -> dict[str, int]:
    """Regressions opened on stable streams over `days` days, per stream and seed."""
    out = {}
    for rate, level in STABLE:
        for seed in seeds:
            traffic = simulate(rate, steady(level), days * DAY, seed)
            out[f"{rate:g}/min at {level:.0%} (seed {seed})"] = len(detect(traffic, config))
    return out


def main() -> None:
    """Print detection delays and false-alarm counts."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    config = DetectorConfig()
    seeds = range(1, args.seeds + 1)
    print("detection delay after the change (minutes):")
    for delay in collapse_delays(config, seeds):
        print(f"  {delay.name}: {delay.minutes if delay.minutes is not None else 'never'}")
    print("false regressions in a month of stable traffic:")
    alarms = false_alarms(config, seeds)
    for name, count in alarms.items():
        print(f"  {name}: {count}")
    print(f"total: {sum(alarms.values())} over {len(alarms)} stream-months")


if __name__ == "__main__":
    main()
