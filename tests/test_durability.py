"""Durability under faults: SIGKILL in the middle of a sustained concurrent ingest loses no
acknowledged record and stores no rejected one; retrying batches whose answer never came
stores nothing twice."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, text

from tests.factories import anthropic_record, tenant_with_key
from tests.server_process import server_process

CLIENTS = 4
BATCH = 50


def _batch(client: int, number: int) -> list[dict[str, Any]]:
    """50 records; every tenth is invalid (a negative token count) and must be refused."""
    records = []
    for i in range(BATCH):
        record = anthropic_record(request_id=f"c{client}-b{number}-r{i}", read=i * 10)
        if i % 10 == 7:
            record["usage"]["input_tokens"] = -5
        records.append(record)
    return records


class Outcomes:
    """What the clients were told, per request id."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acknowledged: set[str] = set()
        self.rejected: set[str] = set()
        self.unanswered: list[list[dict[str, Any]]] = []

    def record(self, batch: list[dict[str, Any]], response: httpx.Response | None) -> None:
        with self.lock:
            if response is None:
                self.unanswered.append(batch)
                return
            assert response.status_code == 200, response.text
            refused = {r["index"] for r in response.json()["rejected"]}
            for index, record in enumerate(batch):
                target = self.rejected if index in refused else self.acknowledged
                target.add(record["request_id"])


def _send_until_down(url: str, key: str, client: int, outcomes: Outcomes) -> None:
    with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=10) as http:
        number = 0
        while True:
            batch = _batch(client, number)
            try:
                response = http.post(f"{url}/v1/usage", json={"records": batch})
            except httpx.HTTPError:
                outcomes.record(batch, None)
                return
            outcomes.record(batch, response)
            number += 1


def _stored(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT request_id, count(*) FROM usage_events GROUP BY request_id")
        ).all()
    return {r[0]: r[1] for r in rows}


def test_sigkill_mid_ingest_keeps_every_acknowledged_record_exactly_once(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    _, key = tenant_with_key(engine)
    outcomes = Outcomes()
    with server_process(db_url, tmp_path) as server:
        threads = [
            threading.Thread(target=_send_until_down, args=(server.url, key, c, outcomes))
            for c in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while len(outcomes.acknowledged) < 2_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.signal(signal.SIGKILL)
        for thread in threads:
            thread.join(timeout=30)
        assert server.wait(timeout=10) == -signal.SIGKILL
    assert len(outcomes.acknowledged) >= 2_000
    stored = _stored(engine)
    # Every acknowledged record is there, once; no refused record is.
    assert all(stored.get(rid) == 1 for rid in outcomes.acknowledged)
    assert not outcomes.rejected & set(stored)
    assert all(count == 1 for count in stored.values())
    # Clients retry what got no answer (and, to be sure, some acknowledged batches too).
    assert outcomes.unanswered, "the kill should have cut requests in flight"
    retries = [*outcomes.unanswered, _batch(0, 0), _batch(1, 3)]
    with (
        server_process(db_url, tmp_path) as server,
        httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=30) as http,
    ):
        for batch in retries:
            response = http.post(f"{server.url}/v1/usage", json={"records": batch})
            assert response.status_code == 200
    stored = _stored(engine)
    assert all(count == 1 for count in stored.values())
    valid_retried = {
        r["request_id"] for batch in retries for r in batch if r["usage"]["input_tokens"] >= 0
    }
    assert set(stored) == outcomes.acknowledged | valid_retried
