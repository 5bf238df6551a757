"""CACHEMETER_RAW_PAYLOADS: events keep their payload's usage objects and ids (redacted), or,
set to "off", nothing of it; every figure computed from the payload is the same either way."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry
from pydantic import ValidationError
from sqlalchemy import Engine, text

from cachemeter.config import Settings
from ingest.metrics import IngestMetrics
from ingest.service import Ingestor
from store.tenants import ensure_tenant
from tests.factories import anthropic_record

AT = datetime(2026, 11, 21, tzinfo=UTC)
FIGURES = (
    "input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, cost, nocache_cost,"
    " miss_hint, provider, model"
)


def _response(request_id: str) -> dict[str, object]:
    record = anthropic_record(request_id=request_id, plain=120, read=4096, output=50)
    usage = record.pop("usage")
    record["response"] = {
        "id": f"msg_{request_id}",
        "type": "message",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "a completion that is never stored"}],
        "usage": usage,
    }
    return record


def test_raw_payloads_off_keeps_nothing_of_the_payload_and_the_same_figures(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        tenant = ensure_tenant(conn, "acme")
    for request_id, keep in (("kept", True), ("dropped", False)):
        ingestor = Ingestor(engine, IngestMetrics(CollectorRegistry()), keep_raw=keep)
        result = ingestor.ingest(tenant, [_response(request_id)], source="push", received_at=AT)
        assert result.accepted == 1
    with engine.connect() as conn:
        rows = {
            r.request_id: r
            for r in conn.execute(
                text(f"SELECT request_id, raw, {FIGURES} FROM usage_events ORDER BY request_id")
            )
        }
    kept, dropped = rows["kept"], rows["dropped"]
    assert kept.raw["usage"]["cache_read_input_tokens"] == 4096
    assert "content" not in kept.raw  # the completion's text is never stored
    assert dropped.raw == {}
    assert tuple(kept)[2:] == tuple(dropped)[2:]
    assert kept.cache_read_tokens == 4096 and kept.cost is not None


def test_the_setting_takes_usage_or_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CACHEMETER_RAW_PAYLOADS", "off")
    assert Settings().raw_payloads == "off"
    monkeypatch.setenv("CACHEMETER_RAW_PAYLOADS", "all")
    with pytest.raises(ValidationError):
        Settings()
    monkeypatch.delenv("CACHEMETER_RAW_PAYLOADS")
    assert Settings().raw_payloads == "usage"
