"""The Reporter: usage records to cachemeter's POST /v1/usage in background batches.

The application is never slowed or broken by cachemeter: records go to a bounded queue and a
thread sends them; when cachemeter is down or slow, batches are retried briefly (honouring
Retry-After) and then dropped, and `reporter.dropped` says how many records were not delivered.
What is still queued when the interpreter exits is flushed by an atexit hook, for a bounded time.
"""

from __future__ import annotations

import atexit
import queue
import threading
import time
import weakref
from typing import Any

import httpx

__all__ = ["MAX_BACKOFF", "Reporter"]


class Reporter:
    """Batches usage records to POST /v1/usage from one background thread.

    Records still queued at interpreter exit are sent by an atexit hook, waiting at most
    `exit_timeout` seconds (0: do not wait); `close()` flushes and stops it earlier.
    """

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        app: str | None = None,
        team: str | None = None,
        environment: str | None = None,
        batch_size: int = 100,
        flush_interval: float = 1.0,
        queue_size: int = 10_000,
        timeout: float = 2.0,
        attempts: int = 3,
        exit_timeout: float = 5.0,
    ) -> None:
        self.endpoint = url.rstrip("/") + "/v1/usage"
        self.headers = {"Authorization": f"Bearer {api_key}"}
        self.dimensions = {
            k: v for k, v in (("app", app), ("team", team), ("environment", environment)) if v
        }
        self.batch_size, self.flush_interval = batch_size, flush_interval
        self.timeout, self.attempts = timeout, attempts
        self.exit_timeout = exit_timeout
        self.sent = 0
        self.dropped = 0
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cachemeter-reporter", daemon=True)
        self._thread.start()
        _LIVE.add(self)

    def record(self, record: dict[str, Any]) -> None:
        """Queue one usage record; never blocks (a full queue drops it and counts it)."""
        try:
            self._idle.clear()
            self._queue.put_nowait({**self.dimensions, **record})
        except queue.Full:
            self.count_dropped(1)

    def count_dropped(self, count: int) -> None:
        """Count records that will never be delivered (a full queue, a failed report)."""
        with self._lock:
            self.dropped += count

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far was sent or dropped."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.empty() and self._idle.is_set():
                return True
            time.sleep(0.01)
        return False

    def close(self, timeout: float = 10.0) -> None:
        """Flush what is queued (within `timeout`) and stop the thread."""
        _LIVE.discard(self)
        self.flush(timeout)
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout) as client:
            while not self._stop.is_set():
                batch = self._take()
                if batch:
                    self._send(client, batch)
                if self._queue.empty():
                    self._idle.set()

    def _take(self) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        deadline = time.monotonic() + self.flush_interval
        while len(batch) < self.batch_size:
            try:
                batch.append(
                    self._queue.get(timeout=max(0.0, min(0.05, deadline - time.monotonic())))
                )
            except queue.Empty:
                if batch or time.monotonic() >= deadline or self._stop.is_set():
                    break
        return batch

    def _send(self, client: httpx.Client, batch: list[dict[str, Any]]) -> None:
        # Retrying is safe: every record carries the provider's response id, so a batch that
        # was stored before its answer was lost is counted once.
        for attempt in range(self.attempts):
            wait = 0.2 * 2**attempt
            try:
                response = client.post(self.endpoint, json={"records": batch}, headers=self.headers)
                if response.status_code < 500 and response.status_code != 429:
                    with self._lock:
                        self.sent += len(batch)  # stored, duplicate or rejected: delivered
                    return
                wait = max(wait, _retry_after(response))
            except httpx.HTTPError:
                pass
            if attempt + 1 < self.attempts:
                time.sleep(min(wait, MAX_BACKOFF))
        self.count_dropped(len(batch))


# Reporters not closed yet, flushed at interpreter exit. Weak: the hook keeps none alive.
_LIVE: weakref.WeakSet[Reporter] = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    """Send what every open Reporter still holds, each within its `exit_timeout`.

    atexit runs before daemon threads are stopped, so the reporters' threads still send. It
    never raises (an exception here would be printed over the application's own exit), and an
    interrupt during the wait gives up at once: the user asked to leave.
    """
    try:
        for reporter in list(_LIVE):
            if reporter.exit_timeout > 0:
                reporter.flush(reporter.exit_timeout)
    except BaseException:
        return


# The reporter's thread never waits longer than this between attempts.
MAX_BACKOFF = 5.0


def _retry_after(response: httpx.Response) -> float:
    """The server's Retry-After in seconds (503 while its database restarts), else 0."""
    try:
        return max(0.0, float(response.headers.get("retry-after", "0")))
    except ValueError:
        return 0.0
