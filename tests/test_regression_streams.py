"""Detection on synthetic streams with realistic noise (bench/regression_streams.py, the
detector's own rules replayed minute by minute): delays at each traffic level, and false
regressions over months of stable traffic. The figures are printed by `make regression-bench`
and quoted in the README."""

from __future__ import annotations

import pytest
import regression_streams as streams

from cache.regressions import DetectorConfig

CONFIG = DetectorConfig()
SEEDS = (1, 2, 3)


@pytest.fixture(scope="module")
def delays() -> dict[str, int | None]:
    return {d.name: d.minutes for d in streams.collapse_delays(CONFIG, SEEDS)}


def _of(delays: dict[str, int | None], scenario: str) -> list[int | None]:
    return [minutes for name, minutes in delays.items() if name.startswith(scenario)]


def test_a_low_volume_collapse_is_flagged_within_an_hour(delays: dict[str, int | None]) -> None:
    found = _of(delays, "1 request / 2 min, 88% -> 0")
    assert len(found) == len(SEEDS)
    assert all(m is not None and 0 <= m <= 60 for m in found), found


def test_a_high_volume_collapse_is_flagged_within_five_minutes(
    delays: dict[str, int | None],
) -> None:
    found = _of(delays, "1 request / s, 88% -> 0")
    assert all(m is not None and 0 <= m <= 5 for m in found), found


def test_a_drop_from_90_to_75_percent_at_high_volume_is_flagged(
    delays: dict[str, int | None],
) -> None:
    found = _of(delays, "1 request / s, 90% -> 75%")
    # Flagged, and before its six hours are out (in practice within minutes).
    assert all(m is not None and 0 <= m < 360 for m in found), found


def test_stable_noisy_streams_open_at_most_one_false_regression_a_month() -> None:
    alarms = streams.false_alarms(CONFIG, seeds=(1, 2))
    # Nine streams (0.5, 5 and 20 requests a minute at 60, 80 and 95%), two seeds each.
    assert len(alarms) == 18
    assert max(alarms.values()) <= 1, alarms
