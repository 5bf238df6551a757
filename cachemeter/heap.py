"""The server's garbage-collector settings: ingest allocates many short-lived objects a record."""

from __future__ import annotations

import gc

# The youngest generation is collected every 10,000 net allocations instead of 700, the middle
# one every 20 of those instead of 10, the oldest every 100 of those instead of 10: with the
# defaults a 1,000-record batch made a young collection every few records and a full one every
# few batches (in-process, the server's CPU per event went from 130-150 to 110 µs: README
# "Benchmark"). Garbage in cycles still goes, in fewer, larger sweeps.
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
