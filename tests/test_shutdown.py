"""Graceful shutdown: on SIGTERM the server stops accepting, finishes the requests in flight,
runs its shutdown (background queues flushed) and exits 0 within the configured timeout."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select

from store.models import UsageEvent
from tests.factories import anthropic_record, tenant_with_key
from tests.server_process import ServerProcess, free_port


def test_sigterm_finishes_in_flight_requests_and_exits_0(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    _, key = tenant_with_key(engine)
    body = json.dumps(
        {"records": [anthropic_record(request_id=f"slow-{i}") for i in range(200)]}
    ).encode()
    server = ServerProcess(db_url, tmp_path, free_port(), CACHEMETER_SHUTDOWN_TIMEOUT_SECONDS="10")
    answers: list[httpx.Response] = []

    def slow_upload() -> Iterator[bytes]:
        # The body trickles in over ~1.5 s, so the request is in flight when SIGTERM lands.
        step = len(body) // 15 + 1
        for start in range(0, len(body), step):
            yield body[start : start + step]
            time.sleep(0.1)

    def send() -> None:
        answers.append(
            httpx.post(
                f"{server.url}/v1/usage",
                content=slow_upload(),
                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
                timeout=30,
            )
        )

    try:
        server.start()
        sender = threading.Thread(target=send)
        sender.start()
        time.sleep(0.4)
        began = time.monotonic()
        server.signal(signal.SIGTERM)
        time.sleep(0.3)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{server.url}/healthz", timeout=2)  # no longer accepting
        sender.join(timeout=30)
        code = server.wait(timeout=15)
    finally:
        server.stop()
    assert code == 0
    assert time.monotonic() - began < 10
    [answer] = answers
    assert answer.status_code == 200 and answer.json()["accepted"] == 200
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(UsageEvent)).scalar_one() == 200
