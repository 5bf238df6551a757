"""cache/ alone, no database: miss hints from history and the what-if classes of a batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from cache.misses import FIRST_WRITE, PREFIX_CHANGED, TTL_EXPIRED, PrefixSeen, explain_with_history
from cache.whatif import Counted, Key, classify

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _row(event_id: int, minutes: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "occurred_at": T0 + timedelta(minutes=minutes),
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "app": "bot",
        "prompt_cache_key": "sys",
        "prefix_hash": "v1",
        "cache_read_tokens": 0,
        "cache_write_tokens": 4000,
        "cache_write_1h_tokens": 0,
        "miss_hint": FIRST_WRITE,
        "currency": "USD",
        **fields,
    }


def test_history_is_read_in_time_order_and_never_moves_backwards() -> None:
    seen = {("bot", "sys"): PrefixSeen("v1", T0)}
    rows = [
        _row(3, 30, prefix_hash="v2"),  # 20 min after id 2, but a new prefix: changed
        _row(2, 10),  # 10 min idle > Anthropic's 5 min: expired
        _row(4, -5),  # late: before the key's last request, no gap to explain
        _row(5, 31, prefix_hash=None, cache_read_tokens=100, miss_hint=None),  # a hit
    ]
    hints, latest = explain_with_history(rows, seen)
    assert hints == {2: TTL_EXPIRED, 3: PREFIX_CHANGED}
    # The hit without a prefix hash moves the key's time and keeps its last known prefix.
    assert latest == {("bot", "sys"): PrefixSeen("v2", T0 + timedelta(minutes=31))}


class _Stored(NamedTuple):
    occurred_at: datetime
    id: int
    currency: str | None
    short: int


def test_a_late_arrival_changes_the_class_of_the_stored_request_after_it() -> None:
    key: Key = ("bot", "v1", "anthropic", "claude-sonnet-4-5")
    # Stored: writes at 0 and 40 min (40 min gap: a 1-hour TTL would have served the second).
    stored = {key: [_Stored(T0, 1, "USD", 4000), _Stored(T0 + timedelta(minutes=40), 2, "USD", 10)]}
    late = _row(3, 38, cache_write_tokens=300, cache_write_1h_tokens=100)  # 200 5-minute tokens
    assert classify([late], stored) == [
        Counted(late["occurred_at"], key, "USD", 200, hit=True),  # 38 min after id 1
        # id 2 now follows id 3 by 2 min, which a 5-minute cache serves too: out of "hit".
        Counted(T0 + timedelta(minutes=40), key, "USD", 10, hit=True, sign=-1),
        Counted(T0 + timedelta(minutes=40), key, "USD", 10, hit=False),
    ]
