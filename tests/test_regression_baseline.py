"""A key's baseline leaves out its regression periods once each, however they overlap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import Engine

from cache.regressions import merged_periods
from cachemeter.workers.regressions import _leave_out
from store.regressions import windows
from tests.factories import anthropic_record, ingested

T = datetime(2026, 11, 20, 10, tzinfo=UTC)


def _at(minutes: int) -> datetime:
    return T + timedelta(minutes=minutes)


def test_merged_periods_is_the_union_in_time_order() -> None:
    assert merged_periods([(_at(4), _at(8)), (_at(2), _at(6)), (_at(9), _at(9))]) == [
        (_at(2), _at(8))
    ]
    assert merged_periods([(_at(5), _at(6)), (_at(0), _at(1)), (_at(1), _at(2))]) == [
        (_at(0), _at(2)),
        (_at(5), _at(6)),
    ]
    assert merged_periods([]) == []


def test_overlapping_regressions_take_their_shared_traffic_out_once(engine: Engine) -> None:
    # One request a minute, minutes 0..9, each a cache hit of 4,000 tokens.
    tenant = ingested(
        engine,
        [
            anthropic_record(request_id=f"r{m}", read=4000, app="a", occurred_at=_at(m).isoformat())
            for m in range(10)
        ],
    )
    span = (T, _at(60))
    key = ("a", "anthropic", "claude-sonnet-4-5", "")
    # Two closed regressions of the key, minutes [2, 6) and [4, 8): together [2, 8), six
    # requests; counted once each, the baseline keeps minutes 0, 1, 8 and 9.
    history = [
        SimpleNamespace(
            scope="app_model",
            kind="hit_rate",
            app="a",
            provider="anthropic",
            model="claude-sonnet-4-5",
            cache_key="",
            opened_at=_at(start),
            closed_at=_at(end),
            details={},
        )
        for start, end in ((2, 6), (4, 8))
    ]
    with engine.connect() as conn:
        base = windows(conn, tenant.id, *span, "app_model")
        assert base[key]["requests"] == 10
        kept = windows(conn, tenant.id, *span, "app_model")
        _leave_out(conn, tenant.id, base, span, "app_model", history)
        outside = [
            windows(conn, tenant.id, start, end, "app_model")[key]
            for start, end in ((T, _at(2)), (_at(8), _at(60)))
        ]
    assert base[key]["requests"] == base[key]["hits"] == 4
    assert base[key]["savings"] == sum(w["savings"] for w in outside)
    assert base[key]["savings"] == kept[key]["savings"] * 4 / 10
