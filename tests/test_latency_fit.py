"""The latency page's least-squares fit of TTFT on uncached tokens: its R² against values
worked by hand, and the slope left out below the stated request count and R²."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from dashboard.pages.latency import MIN_FIT_REQUESTS, MIN_R_SQUARED, fit_cells, fits
from dashboard.stats import ms_per_token, r_squared
from store.analytics import Filters
from tests.factories import anthropic_record, ingested


def _sums(points: Sequence[tuple[float, float]]) -> tuple[float, ...]:
    """n, Σx, Σy, Σx², Σxy, Σy² of (x, y) points, as the hourly rollup keeps them."""
    return (
        len(points),
        sum(x for x, _ in points),
        sum(y for _, y in points),
        sum(x * x for x, _ in points),
        sum(x * y for x, y in points),
        sum(y * y for _, y in points),
    )


def test_r_squared_of_four_points() -> None:
    # (0, 1), (1, 3), (2, 2), (3, 5): means 1.5 and 2.75; about them Σdx² = 2.25 + 0.25 +
    # 0.25 + 2.25 = 5, Σdy² = 3.0625 + 0.0625 + 0.5625 + 5.0625 = 8.75 and Σdx·dy = 2.625
    # - 0.125 - 0.375 + 3.375 = 5.5, so R² = 5.5² / (5 x 8.75) = 30.25 / 43.75 and the
    # slope is 5.5 / 5 = 1.1.
    n, sx, sy, sxx, sxy, syy = _sums([(0, 1), (1, 3), (2, 2), (3, 5)])
    assert (n, sx, sy, sxx, sxy, syy) == (4, 6, 11, 14, 22, 39)
    assert r_squared(n, sx, sy, sxx, sxy, syy) == pytest.approx(30.25 / 43.75)
    assert ms_per_token(n, sx, sy, sxx, sxy) == pytest.approx(1.1)


def test_r_squared_of_a_line_is_one_and_of_no_spread_is_none() -> None:
    # TTFT = 200 ms + 0.05 ms a token exactly.
    line = [(x, 200 + 0.05 * x) for x in (1000, 4000, 9000, 20_000)]
    quality = r_squared(*_sums(line))
    assert quality is not None and quality == pytest.approx(1.0) and quality <= 1.0
    # Every request the same size (no spread in x), or the same TTFT (none in y).
    assert r_squared(*_sums([(1000, 250), (1000, 300), (1000, 350)])) is None
    assert r_squared(*_sums([(1000, 300), (2000, 300), (3000, 300)])) is None
    # Two points fit any line.
    assert r_squared(*_sums([(1000, 250), (2000, 300)])) is None


def _spread(noise: float, repeat: int = 8) -> list[tuple[float, float]]:
    """Requests of 1,000 and 3,000 uncached tokens whose TTFT follows 0.05 ms a token (350 and
    450 ms) up or down by `noise` ms: about the means x moves ±1,000 and the line ±50 ms, so
    R² = 50² / (50² + noise²)."""
    base: list[tuple[float, float]] = [
        (1000, 350 - noise),
        (1000, 350 + noise),
        (3000, 450 - noise),
        (3000, 450 + noise),
    ]
    return base * repeat


def test_the_slope_is_shown_with_its_r_squared_from_the_thresholds_on() -> None:
    assert (MIN_FIT_REQUESTS, MIN_R_SQUARED) == (30, 0.5)
    # noise 50: R² = 2500 / 5000 = 0.5, on the threshold; 32 requests.
    assert fit_cells(*_sums(_spread(50))) == ("0.0500 ms", "0.50")
    # noise 60: R² = 2500 / (2500 + 3600) = 0.41, under it.
    assert fit_cells(*_sums(_spread(60))) == ("no fit", "0.41")
    # Judged as shown: noise 50.4 gives 2500 / (2500 + 2540.16) = 0.496, which reads 0.50;
    # noise 51 gives 2500 / (2500 + 2601) = 0.490, which reads 0.49.
    assert fit_cells(*_sums(_spread(50.4))) == ("0.0500 ms", "0.50")
    assert fit_cells(*_sums(_spread(51))) == ("no fit", "0.49")
    # noise 0: R² = 1.
    assert fit_cells(*_sums(_spread(0))) == ("0.0500 ms", "1.00")
    # The same line from 28 requests: too few, whatever its R².
    assert fit_cells(*_sums(_spread(0, repeat=7))) == ("too few requests", "n/a")
    # 32 requests all of 1,000 tokens: nothing to fit.
    assert fit_cells(*_sums([(1000, 300 + n) for n in range(32)])) == ("no fit", "n/a")


def test_the_table_reads_the_fit_from_the_hourly_rollup(engine: Engine) -> None:
    # claude-sonnet-4-5: the 32 requests of noise 50 (R² 0.5); claude-haiku-4-5: 29 on a line;
    # one request of each without a TTFT, which the fit leaves out.
    points: dict[str, list[tuple[float, float]]] = {
        "claude-sonnet-4-5": _spread(50),
        "claude-haiku-4-5": [(1000, 300)] * 29,
    }
    records = [
        anthropic_record(request_id=f"{model}-{i}", model=model, plain=int(x), ttft_ms=y)
        for model, pts in points.items()
        for i, (x, y) in enumerate(pts)
    ] + [
        anthropic_record(request_id=f"{model}-untimed", model=model, plain=50_000)
        for model in points
    ]
    tenant = ingested(engine, records)
    f = Filters(datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC))
    with engine.connect() as conn:
        shown = fits(conn, tenant.id, f)
    header = [th.children for th in shown.children[0].children.children]
    rows = {
        tr.children[0].children: [td.children for td in tr.children]
        for tr in shown.children[1].children
    }
    assert header[-2:] == ["saved per cached token", "fit (R²)"]
    # Mean TTFT: (300 + 400 + 400 + 500) / 4 = 400 ms.
    assert rows["claude-sonnet-4-5"][1:] == ["32", "400 ms", "0.0500 ms", "0.50"]
    assert rows["claude-haiku-4-5"][1:] == ["29", "300 ms", "too few requests", "n/a"]
