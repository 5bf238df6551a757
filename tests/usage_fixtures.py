"""Access to tests/fixtures/usage: real-shape payloads with hand-computed expected values.

The files came from the project's shared provider fixtures; they live in the repository so a
clone in any folder tests without anything beside it. CACHEMETER_FIXTURES points the suite at
another folder of the same format.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

FIXTURE_DIR = Path(
    os.environ.get("CACHEMETER_FIXTURES", Path(__file__).resolve().parent / "fixtures" / "usage")
)


def load_fixtures(*, include_otel: bool = False) -> list[dict[str, Any]]:
    """Every fixture file, parsed; the OTel one belongs to the collectors issue."""
    files = sorted(FIXTURE_DIR.glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no fixtures under {FIXTURE_DIR} (set CACHEMETER_FIXTURES)")
    fixtures = [json.loads(f.read_text()) for f in files]
    return [f for f in fixtures if include_otel or f["shape"] != "otel.genai"]


def load_fixture(name: str) -> dict[str, Any]:
    """One fixture by its `name`."""
    data: dict[str, Any] = json.loads((FIXTURE_DIR / f"{name}.json").read_text())
    return data
