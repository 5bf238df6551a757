"""Callback requests as the Dash renderer posts them, for tests that drive the dashboard
through its HTTP endpoints."""

from __future__ import annotations

from typing import Any

from dashboard.app import create_dashboard
from store.db import make_engine

CALLBACK = "/dashboard/_dash-update-component"
# A sensible value for each input, so that one hostile value at a time reaches the callback.
DEFAULTS: dict[tuple[str, str], Any] = {
    ("url", "pathname"): "/dashboard/",
    ("url", "search"): "?range=30d",
    ("f-range", "value"): "7d",
    ("hit-group", "value"): "provider",
    ("hit-measure", "value"): "token",
    ("st-month", "value"): "2026-11",
    ("st-group", "value"): "team",
    ("st-download-button", "n_clicks"): 1,
    ("pr-provider", "value"): "anthropic",
    ("pr-model", "value"): "claude-sonnet-4-5",
}


def _callbacks() -> dict[str, Any]:
    """Every server callback the dashboard registers, by output (declarations only: the engine
    is never connected). Clientside callbacks run in the browser and are never posted."""
    app = create_dashboard(make_engine("postgresql+psycopg://nobody@127.0.0.1:1/x"))
    return {output: spec for output, spec in app.callback_map.items() if "callback" in spec}


CALLBACKS = _callbacks()


def request_for(output: str, overrides: dict[tuple[str, str], Any] | None = None) -> dict[str, Any]:
    """The body the Dash renderer posts for the callback of `output`."""
    spec = CALLBACKS[output]
    declared = spec["output"] if isinstance(spec["output"], list) else [spec["output"]]
    outputs = [{"id": o.component_id, "property": o.component_property} for o in declared]

    def props(part: str) -> list[dict[str, Any]]:
        return [
            {
                "id": p["id"],
                "property": p["property"],
                "value": (overrides or {}).get(
                    (p["id"], p["property"]), DEFAULTS.get((p["id"], p["property"]))
                ),
            }
            for p in spec[part]
        ]

    return {
        "output": output,
        "outputs": outputs if isinstance(spec["output"], list) else outputs[0],
        "inputs": props("inputs"),
        "state": props("state"),
        "changedPropIds": [f"{p['id']}.{p['property']}" for p in spec["inputs"]],
    }
