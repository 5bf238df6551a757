"""Runs the data lifecycle (partitions ahead, retention) in the server, in a thread."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import UTC, datetime

from sqlalchemy import Engine

from cachemeter.config import Settings
from cachemeter.workers.periodic import Periodic
from store.retention import apply_retention

log = logging.getLogger("cachemeter.workers.retention")


class LifecycleWorker(Periodic):
    """Applies `apply_retention` at start and every `retention_interval_hours`."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        super().__init__("retention", settings.retention_interval_hours * 3600, run_first=True)
        self.engine, self.settings = engine, settings

    def run_once(self) -> None:
        """Create partitions ahead and apply both retention horizons now."""
        report = apply_retention(
            self.engine,
            datetime.now(UTC),
            months=self.settings.retention_months,
            raw_days=self.settings.retention_raw_days,
            ahead=self.settings.partitions_ahead,
        )
        if report.dropped_partitions or report.raw_payloads_cleared or report.created_ahead:
            log.info("retention: %s", asdict(report))
