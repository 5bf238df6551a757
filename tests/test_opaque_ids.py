"""Tenant-facing ids are opaque: a price, a re-pricing run or a regression is named by an HMAC
of its number, so one tenant cannot count another's activity from the ids it is given."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cachemeter.api.opaque import opaque_id
from tests.factories import tenant_with_key

OPAQUE = re.compile(r"^(price|reprice|regression)_[a-z2-7]{24}$")


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_price_and_run_ids_are_opaque(client: TestClient, engine: Engine) -> None:
    _, alpha = tenant_with_key(engine, "alpha")
    _, bravo = tenant_with_key(engine, "bravo")
    price = {"provider": "anthropic", "model": "claude-sonnet-4-5", "discount_pct": "10"}
    first = client.post("/v1/prices", json=price, headers=_bearer(alpha)).json()["id"]
    other = {**price, "model": "claude-opus-4-5"}
    second = client.post("/v1/prices", json=other, headers=_bearer(bravo)).json()["id"]
    assert OPAQUE.match(first) and OPAQUE.match(second) and first != second
    # Nothing of the shared sequence shows: not the number, not its order.
    assert not any(ch.isdigit() and ch not in "234567" for ch in first.split("_", 1)[1])
    listed = client.get("/v1/prices", headers=_bearer(alpha)).json()["prices"]
    assert first in {p["id"] for p in listed} and second not in {p["id"] for p in listed}
    run = client.post(
        "/v1/reprice",
        json={"start": "2026-11-01T00:00:00Z", "end": "2026-12-01T00:00:00Z", "reason": "deal"},
        headers=_bearer(alpha),
    ).json()["run"]
    assert OPAQUE.match(run) and run.startswith("reprice_")
    dry = client.post(
        "/v1/reprice",
        json={
            "start": "2026-11-01T00:00:00Z",
            "end": "2026-12-01T00:00:00Z",
            "reason": "look",
            "dry_run": True,
        },
        headers=_bearer(alpha),
    ).json()
    assert OPAQUE.match(dry["run"]) and dry["run"] != run  # dry runs are audited too


def test_opaque_ids_are_stable_and_keyed() -> None:
    assert opaque_id("price", 7, b"k") == opaque_id("price", 7, b"k")
    assert opaque_id("price", 7, b"k") != opaque_id("price", 8, b"k")
    assert opaque_id("price", 7, b"k") != opaque_id("price", 7, b"other secret")
    assert opaque_id("price", 7, b"k") != opaque_id("regression", 7, b"k").replace(
        "regression", "price"
    )
