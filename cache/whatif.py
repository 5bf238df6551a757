"""The 1-hour-TTL what-if class of each request, from the gap to the previous request of its
prefix.

A 5-minute write whose prefix's previous request came 5 to 60 minutes before would have been
a read with a 1-hour TTL; every other 5-minute write would still be written, at the 1-hour
rate (billing.economics.what_if_one_hour). A request's class depends only on the gap to the
previous request of its prefix (tenant, app, prefix, provider, model), so new requests are
classified against their stored neighbours, and a stored request whose previous request is
now a new one (a late arrival lands before it) changes class.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from billing.economics import would_hit

Key = tuple[str | None, str, str, str | None]  # app, prefix, provider, model


class StoredRequest(Protocol):
    """A stored request of a prefix, as classifying needs it."""

    @property
    def occurred_at(self) -> datetime: ...
    @property
    def id(self) -> int: ...
    @property
    def currency(self) -> str | None: ...
    @property
    def short(self) -> int: ...  # its 5-minute write tokens


@dataclass(frozen=True, slots=True)
class Counted:
    """A request's 5-minute write tokens counted into (`sign` 1) or out of (-1) a class."""

    at: datetime
    key: Key
    currency: str | None
    short: int
    hit: bool  # a 1-hour TTL would have served it
    sign: int = 1


def prefix_key(row: Mapping[str, Any]) -> Key | None:
    """The what-if key of an event row; None when it names no prefix."""
    prefix = row.get("prefix_hash") or row.get("prompt_cache_key")
    if not prefix:
        return None
    return (row.get("app"), prefix, row["provider"], row.get("model"))


def _classes(timeline: Sequence[tuple[datetime, int]]) -> dict[int, bool]:
    """Each request's class (by id) from the gap to the one before it in `timeline`."""
    out = {}
    for previous, (at, event_id) in zip([None, *timeline], timeline, strict=False):
        out[event_id] = would_hit((at - previous[0]).total_seconds() if previous else None)
    return out


def classify(
    rows: Sequence[Mapping[str, Any]], stored: Mapping[Key, Sequence[StoredRequest]]
) -> list[Counted]:
    """The class counts of new event rows (which carry their `id`), given the stored requests
    around them per prefix (all of them from the rows' earliest to their latest instant, and
    the one just before and just after); with the stored requests that change class, counted
    out of the old class and into the new. Requests without 5-minute writes count nowhere."""
    by_key: dict[Key, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        key = prefix_key(row)
        if key is not None:
            by_key[key].append(row)
    counted: list[Counted] = []
    for key, new in by_key.items():
        new.sort(key=lambda r: (r["occurred_at"], r["id"]))
        old = sorted(stored.get(key, ()), key=lambda r: (r.occurred_at, r.id))
        before = _classes([(r.occurred_at, r.id) for r in old])
        after = _classes(
            sorted(
                [(r.occurred_at, r.id) for r in old] + [(r["occurred_at"], r["id"]) for r in new]
            )
        )
        for row in new:
            short = row["cache_write_tokens"] - row["cache_write_1h_tokens"]
            if short > 0:
                at = row["occurred_at"]
                counted.append(Counted(at, key, row.get("currency"), short, after[row["id"]]))
        first_new = (new[0]["occurred_at"], new[0]["id"])
        for r in old:
            if (r.occurred_at, r.id) < first_new:
                # Nothing new precedes it (and its own previous request was not fetched
                # when it is the one before the batch): its class stands.
                continue
            if r.short > 0 and before[r.id] != after[r.id]:
                counted.append(Counted(r.occurred_at, key, r.currency, r.short, before[r.id], -1))
                counted.append(Counted(r.occurred_at, key, r.currency, r.short, after[r.id]))
    return counted
