"""Runs the data lifecycle (partitions ahead, retention) in the server, in a thread."""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from store.retention import apply_retention
from store.settings import Settings

log = logging.getLogger("cachemeter.lifecycle")


class LifecycleWorker:
    """Applies `apply_retention` at start and every `retention_interval_hours`."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cachemeter-lifecycle", daemon=True)

    def start(self) -> None:
        """Begin in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current pass."""
        self._stop.set()
        self._thread.join(timeout=30)

    def run_once(self) -> None:
        """One pass; a database outage is logged and retried at the next interval."""
        try:
            report = apply_retention(
                self.engine,
                datetime.now(UTC),
                months=self.settings.retention_months,
                raw_days=self.settings.retention_raw_days,
                ahead=self.settings.partitions_ahead,
            )
        except DBAPIError as exc:
            log.warning("retention pass skipped: database unavailable (%s)", type(exc).__name__)
            return
        if report.dropped_partitions or report.raw_payloads_cleared or report.created_ahead:
            log.info("retention: %s", asdict(report))

    def _run(self) -> None:
        self.run_once()
        while not self._stop.wait(self.settings.retention_interval_hours * 3600):
            self.run_once()
