"""What a batch did besides storing new records, as ingest_outcomes_hourly counts it: rejected
records by reason class, duplicates (true retries, and spans merged into their stored call) and
conflicts by what differed, each conflict class with its batch's latest example."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ingest.conflicts import Conflict
from ingest.rejections import Rejected
from store.outcomes import OutcomeGroup

RETRY, MERGED = "retry", "merged"


def outcome_groups(
    rejected: Sequence[Rejected] = (),
    duplicates: int = 0,
    merged: int = 0,
    conflicts: Sequence[Conflict] = (),
) -> list[OutcomeGroup]:
    """One group per (outcome, reason) with a count; `duplicates` includes the `merged` ones
    (as ingest.service.IngestResult counts them). Conflicts in batch order: the last of a
    class is its example."""
    groups = [
        OutcomeGroup("rejected", reason, n)
        for reason, n in Counter(r.reason for r in rejected).items()
    ]
    groups += [
        OutcomeGroup("duplicate", reason, n)
        for reason, n in ((RETRY, duplicates - merged), (MERGED, merged))
        if n > 0
    ]
    latest: dict[str, Conflict] = {}
    for c in conflicts:
        latest[c.reason] = c
    counts = Counter(c.reason for c in conflicts)
    groups += [
        OutcomeGroup("conflict", reason, counts[reason], c.request_id, "; ".join(c.found))
        for reason, c in latest.items()
    ]
    return groups
