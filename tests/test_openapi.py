"""The OpenAPI document describes every answer: each 2xx JSON body under /v1 has a schema with
properties or a reference, and the operations are exactly the service's."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

# Every operation the API serves (a route added or lost shows here).
OPERATIONS = {
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/readyz"),
    ("GET", "/v1/budgets"),
    ("GET", "/v1/ingest/rejections"),
    ("PUT", "/v1/budgets"),
    ("DELETE", "/v1/budgets/{scope}/{name}"),
    ("POST", "/v1/caches"),
    ("GET", "/v1/keys"),
    ("POST", "/v1/logs"),
    ("POST", "/v1/metrics"),
    ("POST", "/v1/keys"),
    ("DELETE", "/v1/keys/{prefix}"),
    ("POST", "/v1/keys/{prefix}/rotate"),
    ("GET", "/v1/prices"),
    ("POST", "/v1/prices"),
    ("GET", "/v1/regressions"),
    ("POST", "/v1/regressions/{regression_id}/acknowledge"),
    ("GET", "/v1/reports/cache-economics"),
    ("GET", "/v1/reports/reconciliation"),
    ("GET", "/v1/reports/statement"),
    ("GET", "/v1/reports/summary"),
    ("POST", "/v1/reprice"),
    ("POST", "/v1/traces"),
    ("POST", "/api/public/otel/v1/traces"),
    ("POST", "/v1/usage"),
}


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = spec["components"]["schemas"][name]
    return schema


def test_every_json_answer_under_v1_has_a_described_body(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operations = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert operations == OPERATIONS
    for path, ops in spec["paths"].items():
        for method, operation in ops.items():
            for status, response in operation["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if not (path.startswith("/v1/") and status.startswith("2")):
                    continue
                assert schema is not None, (method, path, status)
                assert "$ref" in schema or "properties" in schema, (method, path, status)
                # A reference leads to an object whose properties are named.
                assert _resolve(spec, schema).get("properties"), (method, path, status)
