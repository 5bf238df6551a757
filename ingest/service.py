"""Ingest: validate -> normalise -> price -> store, one transaction per batch.

A record that fails is rejected with its index and reason and nothing of it is stored;
the rest of its batch is stored. The batch's rejected, duplicate and conflicting records are
counted per hour in its own transaction (ingest_outcomes_hourly: counted once if and only if
the batch is stored); the metrics count after commit.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, Engine

from billing import PriceBook
from billing.pricecache import PriceCache, PriceResolver
from billing.usage import MAX_TOKENS, Usage, steps_json
from ingest.caches import CacheIn, build_cache
from ingest.conflicts import Conflict, find_conflict
from ingest.envelope import RecordIn, describe_validation_error
from ingest.errors import PayloadError
from ingest.fast_envelope import fast_record
from ingest.fields import MAX_JSON_DEPTH, nested_deeper
from ingest.merge import MERGED_SOURCES, merged_record
from ingest.metrics import IngestMetrics
from ingest.outcomes import outcome_groups
from ingest.pricing import PricedRecord, price_record
from ingest.record import UsageRecord, build_record, token_fields
from ingest.rejection_reasons import payload_reason, validation_field, validation_reason
from ingest.rejections import RejectionRecorder
from store.caches import upsert_cache
from store.finance import charge_columns
from store.limits import CACHES, EVENTS, ColumnLimit, check_row
from store.outcomes import record_outcomes
from store.partitions import ensure_partitions, month_of
from store.prices import catalogue_state, load_price_book
from store.retention import counts_horizon
from store.tenancy import tenant_transaction
from store.tenants import TenantRef
from store.write.batch import StoredEvent, store_batch
from store.write.merge import replace_events, stored_events

# Columns whose values are holdable by construction: ingest.redact makes `raw` so, and a
# Usage holds no count above MAX_TOKENS, far inside a bigint (token_fields are its counts).
HELD = frozenset({"raw", *token_fields(Usage(0))})
assert MAX_TOKENS < 2**63


@dataclass
class Rejection:
    """Why record `index` of a batch was not stored."""

    index: int
    error: str
    # The field the error names, and its bounded class (ingest.rejection_reasons).
    field: str = "record"
    reason: str = "record:invalid"


@dataclass
class IngestResult:
    """What happened to a batch."""

    accepted: int = 0
    duplicates: int = 0
    # Duplicates that completed the stored record of their call (spans from two instrumentors).
    merged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    # Request ids reused with other usage, model or provider (ingest.conflicts): not stored.
    conflicts: list[Rejection] = field(default_factory=list)
    without_request_id: int = 0
    unpriced: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The API's response body."""
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "merged": self.merged,
            "conflicts": [
                {"index": c.index, "error": c.error, "field": c.field} for c in self.conflicts
            ],
            "rejected": [{"index": r.index, "error": r.error} for r in self.rejected],
            "without_request_id": self.without_request_id,
            "unpriced": self.unpriced,
        }


def event_row(priced: PricedRecord) -> dict[str, Any]:
    """The store's column values for one priced record."""
    record, usage, charge, price = priced.record, priced.record.usage, priced.charge, priced.price
    return {
        "occurred_at": record.occurred_at,
        "source": record.source,
        "request_id": record.request_id,
        "provider": record.provider,
        "model": record.model,
        "reported_model": record.reported_model,
        "shape": record.shape,
        **token_fields(usage),
        "ttft_ms": record.ttft_ms,
        "latency_ms": record.latency_ms,
        "app": record.app,
        "team": record.team,
        "environment": record.environment,
        "end_user": record.end_user,
        "prompt_cache_key": record.prompt_cache_key,
        "prefix_hash": record.prefix_hash,
        "tags": record.tags,
        "raw": record.raw,
        **charge_columns(charge, price, priced.unpriced_reason),
        "reported_cost": record.reported_cost,
        "miss_hint": priced.miss_hint,
        "service_tier": record.service_tier,
        "inference_geo": record.inference_geo,
        "speed": record.speed,
        "tool_requests": dict(record.tool_requests) or None,
        "steps": steps_json(record.steps),
        "provider_miss_reason": record.cache_miss_reason,
        "provider_missed_tokens": record.cache_missed_tokens,
    }


def _as_stored(priced: PricedRecord, stored: StoredEvent | None) -> PricedRecord | None:
    """A record as stored (its miss hint refined), or None when it was already stored."""
    if stored is None:
        return None
    if stored.miss_hint == priced.miss_hint:
        return priced
    return replace(priced, miss_hint=stored.miss_hint)


@dataclass
class Stored:
    """What storing a batch did: per record as stored (None: already stored), how many stored
    events later spans completed, and conflicts by position in the batch."""

    records: list[PricedRecord | None]
    merged: int = 0
    conflicts: dict[int, Conflict] = field(default_factory=dict)


@dataclass(frozen=True)
class Tally:
    """What a stored batch's outcomes are counted under (ingest_outcomes_hourly): its source,
    when it arrived, and the records refused before it was stored."""

    source: str
    received_at: datetime
    rejected: Sequence[Rejection] = ()


def _conflicts(
    conn: Connection, tenant: TenantRef, retried: Sequence[tuple[int, UsageRecord]]
) -> dict[int, Conflict]:
    """Which duplicates say otherwise than what is stored under their request id."""
    stored = stored_events(
        conn, tenant.id, [(r.source, str(r.request_id)) for _, r in retried], lock=False
    )
    out = {}
    for position, record in retried:
        row = stored.get((record.source, str(record.request_id)))
        conflict = find_conflict(row, record) if row is not None else None
        if conflict is not None:
            out[position] = conflict
    return out


def _complete(
    conn: Connection, tenant: TenantRef, later: Sequence[UsageRecord], prices: PriceResolver
) -> int:
    """Complete stored events with later reports of the same calls; how many changed."""
    keys = [(r.source, str(r.request_id)) for r in later]
    originals = stored_events(conn, tenant.id, keys)
    current = dict(originals)
    changes: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {}
    for record, key in zip(later, keys, strict=True):
        if key not in current:
            continue
        merged = merged_record(current[key], record)
        if merged is None:
            continue
        new = event_row(price_record(merged, prices, tenant.name))
        current[key] = {**current[key], **new}
        changes[key] = (originals[key], new)
    replace_events(conn, list(changes.values()))
    return len(changes)


class Ingestor:
    """Stores batches for tenants; keeps the price book in step with the catalogue table."""

    def __init__(
        self,
        engine: Engine,
        metrics: IngestMetrics,
        retention_months: int | None = None,
        end_user_key: bytes | None = None,
        keep_raw: bool = True,
    ) -> None:
        self.engine = engine
        # Whether events keep their payload's usage objects (CACHEMETER_RAW_PAYLOADS).
        self.keep_raw = keep_raw
        # The server's secret, under which end users are hashed (ingest.record.hash_end_user).
        self.end_user_key = end_user_key
        self.metrics = metrics
        # Records older than the counts horizon are refused: their month may be dropped.
        self.retention_months = retention_months
        # Rejections are counted, logged and kept per tenant, besides the sender's answer.
        self.rejections = RejectionRecorder(engine, metrics)
        self._lock = threading.Lock()
        self._prices: PriceCache | None = None
        self._book_version: tuple[int, int, int] | None = None

    def prices(self) -> PriceCache:
        """The price book (behind its half-hour cache), rebuilt when the catalogue changed."""
        with self.engine.connect() as conn:
            version = catalogue_state(conn)
            with self._lock:
                if self._prices is None or version != self._book_version:
                    self._prices = PriceCache(load_price_book(conn))
                    self._book_version = version
                return self._prices

    def price_book(self) -> PriceBook:
        """The price book in force (rebuilt when the stored catalogue changed)."""
        return self.prices().book

    def ingest(
        self, tenant: TenantRef, raws: Sequence[Any], *, source: str, received_at: datetime
    ) -> IngestResult:
        """Validate, normalise, price and store a batch of raw record dicts."""
        result = IngestResult()
        prices = self.prices()
        horizon = (
            counts_horizon(received_at, self.retention_months)
            if self.retention_months is not None
            else None
        )
        accepted: list[tuple[int, PricedRecord, dict[str, Any]]] = []
        for index, raw in enumerate(raws):
            try:
                if not isinstance(raw, dict):
                    raise PayloadError("record", "must be a JSON object")
                if nested_deeper(raw, MAX_JSON_DEPTH):
                    raise PayloadError("record", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
                # The common record in one compiled call; RecordIn reads the rest.
                record_in = fast_record(raw) or RecordIn.model_validate(raw)
                record = build_record(
                    record_in,
                    tenant=tenant.name,
                    source=source,
                    received_at=received_at,
                    end_user_key=self.end_user_key,
                    keep_raw=self.keep_raw,
                )
                if horizon is not None and record.occurred_at < horizon:
                    raise PayloadError(
                        "occurred_at",
                        f"{record.occurred_at.isoformat()} is before the retention horizon"
                        f" {horizon.isoformat()} (CACHEMETER_RETENTION_MONTHS="
                        f"{self.retention_months})",
                    )
            except ValidationError as exc:
                errors = exc.errors()
                result.rejected.append(
                    Rejection(
                        index,
                        describe_validation_error(errors),
                        validation_field(errors),
                        validation_reason(errors),
                    )
                )
                continue
            except PayloadError as exc:
                reason = payload_reason(exc.field, exc.reason)
                result.rejected.append(Rejection(index, str(exc), exc.field, reason))
                continue
            priced = price_record(record, prices, tenant.name)
            row = event_row(priced)
            try:
                # The raw payload is redacted, which leaves only what JSONB holds.
                check_row(EVENTS, row, held=HELD)
            except ColumnLimit as exc:
                reason = payload_reason(exc.column, exc.reason)
                result.rejected.append(Rejection(index, str(exc), exc.column, reason))
                continue
            accepted.append((index, priced, row))
        if accepted:
            outcome = self.store(
                tenant,
                [p for _, p, _ in accepted],
                prices,
                rows=[r for _, _, r in accepted],
                tally=Tally(source, received_at, result.rejected),
            )
            new_records = [p for p in outcome.records if p is not None]
            result.merged += outcome.merged
            for position, conflict in sorted(outcome.conflicts.items()):
                result.conflicts.append(
                    Rejection(accepted[position][0], conflict.message, "request_id")
                )
            result.duplicates += len(accepted) - len(new_records) - len(outcome.conflicts)
            result.accepted += len(new_records)
            result.without_request_id += sum(p.record.request_id is None for p in new_records)
            result.unpriced += sum(p.charge is None for p in new_records)
            self.metrics.observe_stored(new_records)
        elif result.rejected:
            # Nothing to store: the rejections' counts are the batch's only statement.
            with tenant_transaction(self.engine, tenant.id) as conn:
                groups = outcome_groups(result.rejected)
                record_outcomes(conn, tenant.id, source, groups, received_at)
        self.metrics.records.labels(result="accepted").inc(result.accepted)
        self.metrics.records.labels(result="duplicate").inc(result.duplicates)
        self.metrics.records.labels(result="rejected").inc(len(result.rejected))
        self.metrics.records.labels(result="conflict").inc(len(result.conflicts))
        self.rejections.record(tenant, source, result.rejected, received_at)
        return result

    def store(
        self,
        tenant: TenantRef,
        batch: Sequence[PricedRecord],
        prices: PriceResolver | None = None,
        rows: Sequence[dict[str, Any]] | None = None,
        tally: Tally | None = None,
    ) -> Stored:
        """Store priced records in one transaction: per record, as stored (its miss reason
        refined by its key's history), or None when it was already stored. A duplicate span
        of a stored call completes the stored record (ingest.merge); another duplicate with
        other numbers is a conflict (ingest.conflicts). `rows` are the records' event_rows when
        already made (and checked against the columns). With a `tally`, the batch's rejected,
        duplicate and conflicting records are counted in the same transaction."""
        ensure_partitions(self.engine, {month_of(p.record.occurred_at) for p in batch})
        if rows is None:
            rows = [event_row(p) for p in batch]
        outcome = Stored([])
        with tenant_transaction(self.engine, tenant.id) as conn:
            stored = store_batch(conn, tenant.id, list(rows))
            again = [
                (position, p.record)
                for position, (p, s) in enumerate(zip(batch, stored, strict=True))
                if s is None and p.record.request_id
            ]
            merging = [r for _, r in again if r.source in MERGED_SOURCES]
            if merging:
                outcome.merged = _complete(conn, tenant, merging, prices or self.prices())
            retried = [(i, r) for i, r in again if r.source not in MERGED_SOURCES]
            if retried:
                outcome.conflicts = _conflicts(conn, tenant, retried)
            if tally is not None:
                duplicates = sum(s is None for s in stored) - len(outcome.conflicts)
                conflicts = [outcome.conflicts[i] for i in sorted(outcome.conflicts)]
                groups = outcome_groups(tally.rejected, duplicates, outcome.merged, conflicts)
                # Last: the hour's rows are shared by every batch of the tenant, so they are
                # held locked only from here to commit.
                record_outcomes(conn, tenant.id, tally.source, groups, tally.received_at)
        outcome.records = [_as_stored(p, s) for p, s in zip(batch, stored, strict=True)]
        return outcome

    def ingest_caches(
        self, tenant: TenantRef, raws: Sequence[Any], received_at: datetime
    ) -> dict[str, Any]:
        """Validate, price and store explicit caches; bad ones are rejected by index."""
        book = self.price_book()
        rejected: list[dict[str, Any]] = []
        rows = []
        for index, raw in enumerate(raws):
            try:
                if not isinstance(raw, dict):
                    raise PayloadError("cache", "must be a JSON object")
                if nested_deeper(raw, MAX_JSON_DEPTH):
                    raise PayloadError("cache", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
                cache = build_cache(CacheIn.model_validate(raw), book, tenant.name, received_at)
            except ValidationError as exc:
                rejected.append({"index": index, "error": describe_validation_error(exc.errors())})
                continue
            except PayloadError as exc:
                rejected.append({"index": index, "error": str(exc)})
                continue
            row = asdict(cache)
            try:
                check_row(CACHES, row)
            except ColumnLimit as exc:
                rejected.append({"index": index, "error": str(exc)})
                continue
            rows.append(row)
        new = 0
        if rows:
            with tenant_transaction(self.engine, tenant.id) as conn:
                new = sum(upsert_cache(conn, tenant.id, row) for row in rows)
        return {
            "stored": new,
            "updated": len(rows) - new,
            "unpriced": sum(1 for r in rows if r["cost_storage"] is None),
            "rejected": rejected,
        }
