"""The store layer alone: priced records through Ingestor.store (what a batch asks of the
database: key claims, the row-level-security-checked move, miss-cause history, what-if
neighbours, every rollup) from several threads at once. No HTTP, validation, normalisation
or pricing: the most an ingest front end can reach on this schema and machine."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry
from server_bench import record, run_clients

from ingest.envelope import RecordIn
from ingest.metrics import IngestMetrics
from ingest.pricing import PricedRecord, price_record
from ingest.record import build_record
from ingest.service import Ingestor
from store.db import make_engine
from store.tenants import ensure_tenant


def store_ceiling(url: str, events: int, batch: int, clients: int) -> float:
    """Events per second of priced records through the store layer, `clients` threads."""
    engine = make_engine(url, pool_size=clients, max_overflow=0)
    with engine.begin() as conn:
        tenant = ensure_tenant(conn, "store-bench")
    ingestor = Ingestor(engine, IngestMetrics(CollectorRegistry()))
    prices = ingestor.prices()
    at = datetime.now(UTC) - timedelta(days=2)
    # The HTTP bench's records, priced once; each batch gets its own ids and second.
    template = [
        price_record(
            build_record(
                RecordIn.model_validate(record(i, at)),
                tenant=tenant.name,
                source="push",
                received_at=datetime.now(UTC),
            ),
            prices,
            tenant.name,
        )
        for i in range(batch)
    ]

    def batch_at(start: int) -> list[PricedRecord]:
        return [
            replace(
                priced,
                record=replace(
                    priced.record,
                    request_id=f"s-{start + i}",
                    occurred_at=priced.record.occurred_at + timedelta(milliseconds=start),
                ),
            )
            for i, priced in enumerate(template[: min(batch, events - start)])
        ]

    def send(mine: list[int]) -> None:
        for start in mine:
            if None in ingestor.store(tenant, batch_at(start)).records:
                raise RuntimeError("the store bench's records must all be new")

    try:
        elapsed = run_clients(send, list(range(0, events, batch)), clients)
    finally:
        engine.dispose()
    return events / elapsed
