"""The running server collects garbage less often and keeps its startup heap out of sight."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from cachemeter.heap import THRESHOLDS


def test_started_server_tunes_the_collector(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert gc.get_threshold() == THRESHOLDS
    # What startup built (price data, the dashboard's layouts) is frozen, never rescanned.
    assert gc.get_freeze_count() > 10_000
