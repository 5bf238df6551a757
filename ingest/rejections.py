"""Rejected records made visible beyond the sender's answer: counted in the metric by source and
reason class, logged (rate-limited) and kept per tenant in ingest_rejections.

Runs after the batch's own transaction, in one of its own: keeping rejections can fail (the
database went away in between) without failing or undoing the records that were stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine

from ingest.metrics import IngestMetrics
from ingest.rejection_log import RejectionLog
from store.rejections import MAX_REASONS, RejectionGroup, record_rejections
from store.tenancy import tenant_transaction
from store.tenants import TenantRef


class Rejected(Protocol):
    """A refused record as ingest reports it (ingest.service.Rejection)."""

    @property
    def error(self) -> str: ...
    @property
    def field(self) -> str: ...
    @property
    def reason(self) -> str: ...


def group(rejected: Sequence[Rejected]) -> list[RejectionGroup]:
    """One group per reason class, in the batch's order, each with its first record's error."""
    groups: dict[str, RejectionGroup] = {}
    for r in rejected:
        seen = groups.get(r.reason)
        if seen is None:
            groups[r.reason] = RejectionGroup(r.reason, 1, r.field, r.error)
        else:
            groups[r.reason] = RejectionGroup(
                r.reason, seen.count + 1, seen.sample_field, seen.sample_error
            )
    return list(groups.values())


class RejectionRecorder:
    """Where a batch's rejections go: metric, log, table."""

    def __init__(
        self,
        engine: Engine,
        metrics: IngestMetrics,
        log: RejectionLog | None = None,
        cap: int = MAX_REASONS,
    ) -> None:
        self.engine, self.metrics, self.cap = engine, metrics, cap
        self.log = log or RejectionLog()

    def record(
        self, tenant: TenantRef, source: str, rejected: Sequence[Rejected], seen_at: datetime
    ) -> None:
        """Count, log and keep a batch's rejections; never raises for a failure to keep them."""
        if not rejected:
            return
        groups = group(rejected)
        bound = self.metrics.bounds.value
        for g in groups:
            self.metrics.rejections.labels(bound("source", source), bound("reason", g.reason)).inc(
                g.count
            )
            self.log.rejected(source, g.reason, g.count, tenant.name, g.sample_error)
        try:
            with tenant_transaction(self.engine, tenant.id) as conn:
                record_rejections(conn, tenant.id, source, groups, seen_at, self.cap)
        # Whatever went wrong (database gone, a statement refused), the batch's answer stands.
        except Exception as exc:
            self.log.not_kept(source, exc)
