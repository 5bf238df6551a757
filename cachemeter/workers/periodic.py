"""A background thread that runs one pass every `interval` seconds until stopped."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import DBAPIError

log = logging.getLogger("cachemeter.workers.periodic")


class Periodic:
    """Calls `run_once` every `interval` seconds (first at start when `run_first`); a pass
    that finds the database unavailable is logged and the next one tries again."""

    def __init__(self, name: str, interval: float, *, run_first: bool = False) -> None:
        self.name, self.interval, self.run_first = name, interval, run_first
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"cachemeter-{name}", daemon=True)

    def start(self) -> None:
        """Begin in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current pass."""
        self._stop.set()
        self._thread.join(timeout=30)

    def run_once(self) -> None:
        """One pass (subclasses)."""
        raise NotImplementedError

    def _pass(self) -> None:
        try:
            self.run_once()
        except DBAPIError as exc:
            log.warning("%s pass skipped: database unavailable (%s)", self.name, type(exc).__name__)

    def _run(self) -> None:
        if self.run_first:
            self._pass()
        while not self._stop.wait(self.interval):
            self._pass()
