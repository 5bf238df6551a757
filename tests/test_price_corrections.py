"""A price corrected in place (`cachemeter prices update`) prices the next batch a running
server ingests: the server's price book is rebuilt when any stored price changes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, text

from billing.catalogue import PriceSpec
from ingest.metrics import IngestMetrics
from ingest.service import Ingestor
from store.prices import add_price, update_price
from store.tenants import ensure_tenant
from tests.factories import anthropic_record

RECEIVED = datetime(2026, 11, 21, tzinfo=UTC)


def test_a_corrected_price_prices_the_next_batch(engine: Engine) -> None:
    ingestor = Ingestor(engine, IngestMetrics(CollectorRegistry()))
    with engine.begin() as conn:
        tenant = ensure_tenant(conn, "acme")
        price_id = add_price(
            conn,
            PriceSpec(
                provider="anthropic",
                model="claude-sonnet-4-5",
                tenant="acme",
                input_mtok=Decimal(2),
                output_mtok=Decimal(10),
            ),
        )

    def push(request_id: str) -> None:
        # One million uncached input tokens and no output: the cost is the input rate.
        record = anthropic_record(request_id=request_id, plain=1_000_000, output=0)
        result = ingestor.ingest(tenant, [record], source="push", received_at=RECEIVED)
        assert result.accepted == 1, result.as_dict()

    push("before")
    # Nothing changed: the book is kept, not rebuilt for every batch.
    book = ingestor.prices()
    assert ingestor.prices() is book
    with engine.begin() as conn:
        update_price(conn, price_id, {"input_mtok": Decimal("1.5")}, "contract corrected")
    push("after")
    assert ingestor.prices() is not book
    with engine.connect() as conn:
        costs = conn.execute(
            text("SELECT request_id, cost FROM usage_events ORDER BY request_id")
        ).all()
    # 1M tokens x $1.5 after the correction, x $2 before it (stored charges stay until reprice).
    assert [(r, c) for r, c in costs] == [("after", Decimal("1.5")), ("before", Decimal(2))]
