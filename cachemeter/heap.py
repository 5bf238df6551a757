"""The server's garbage-collector settings: ingest allocates many short-lived objects a record."""

from __future__ import annotations

import gc

# Collections of the youngest generation every 10,000 net allocations instead of 700, and of
# the older ones a tenth as often: a 1,000-record batch otherwise triggers a collection every
# few records and a full one every few batches (about a sixth of ingest's CPU, README
# "Benchmarks"). Garbage in cycles still goes, only in fewer, larger sweeps.
THRESHOLDS = (10_000, 20, 100)


_settled = False


def settle_heap() -> None:
    """Move what the first startup built (price data, schemas, the dashboard) out of the
    collector's sight, where it stays as long as the process, and collect less often."""
    global _settled
    if not _settled:
        # Once: a process that builds apps again (the tests) would otherwise keep every
        # frozen app's garbage for good.
        gc.collect()
        gc.freeze()
        _settled = True
    gc.set_threshold(*THRESHOLDS)
