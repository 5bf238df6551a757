"""Rejections in the service's log without flooding it: each (source, reason) is logged the
first time it is seen, then at most once per interval as a summary of how many were suppressed.

A sender stuck on a bad payload sends the same mistake thousands of times a minute; the log
shows it once a minute, the count lives in the metric and the rejections table.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("cachemeter.ingest.rejections")

INTERVAL_SECONDS = 60.0
# Distinct (source, reason) keys remembered; beyond them, reasons share one "other" key.
MAX_KEYS = 1000
# A sample error is the sender's data echoed back (a bad value's repr): keep the line short.
MAX_EXAMPLE = 300


@dataclass
class _Seen:
    logged_at: float
    suppressed: int = 0


@dataclass(frozen=True)
class Due:
    """What to log now: the first sighting, or a summary of what was suppressed since."""

    first: bool
    count: int
    seconds: float


class RateLimiter:
    """Decides, per key, whether a sighting is logged now (thread-safe)."""

    def __init__(
        self,
        interval: float = INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.interval, self.clock, self.max_keys = interval, clock, max_keys
        self._seen: dict[tuple[str, str], _Seen] = {}
        self._lock = threading.Lock()

    def sighting(self, key: tuple[str, str], count: int = 1) -> Due | None:
        """Note `count` occurrences of `key`; what to log now, or None (suppressed)."""
        now = self.clock()
        with self._lock:
            if key not in self._seen and len(self._seen) >= self.max_keys:
                key = (key[0], "other")
            seen = self._seen.get(key)
            if seen is None:
                self._seen[key] = _Seen(now)
                return Due(True, count, 0.0)
            seen.suppressed += count
            elapsed = now - seen.logged_at
            if elapsed < self.interval:
                return None
            due = Due(False, seen.suppressed, elapsed)
            seen.logged_at, seen.suppressed = now, 0
            return due


class RejectionLog:
    """The log lines of rejected records and of failures to keep them."""

    def __init__(self, limiter: RateLimiter | None = None) -> None:
        self.limiter = limiter or RateLimiter()

    def rejected(self, source: str, reason: str, count: int, tenant: str, example: str) -> None:
        """`count` records of `source` refused for `reason` (one batch's worth)."""
        due = self.limiter.sighting((source, reason), count)
        if due is None:
            return
        example = example[:MAX_EXAMPLE]
        if due.first:
            log.warning(
                "ingest: %d %s record(s) rejected as %s (tenant %s), e.g. %s;"
                " further ones are summarised at most once a minute",
                due.count,
                source,
                reason,
                tenant,
                example,
            )
        else:
            log.warning(
                "ingest: %d more %s record(s) rejected as %s in the last %.0f s, e.g. %s",
                due.count,
                source,
                reason,
                due.seconds,
                example,
            )

    def not_kept(self, source: str, error: BaseException) -> None:
        """Keeping a batch's rejections failed (the batch itself was stored)."""
        due = self.limiter.sighting(("keep-failed", source))
        if due is None:
            return
        log.warning(
            "ingest: could not keep %s rejections (%s: %s); the records were stored,"
            " the metric and this log still count them%s",
            source,
            type(error).__name__,
            str(error)[:MAX_EXAMPLE],
            f" ({due.count} failures in the last {due.seconds:.0f} s)" if not due.first else "",
        )
