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
    ("GET", "/v1/ingest/outcomes"),
    ("GET", "/v1/exports/focus"),
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
    ("GET", "/v1/reports/advice"),
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
                content = response.get("content", {})
                schema = content.get("application/json", {}).get("schema")
                if not (path.startswith("/v1/") and status.startswith("2")):
                    continue
                if set(content) == {"text/csv"}:
                    # A download (the FOCUS export): CSV text, said so, and no JSON.
                    assert content["text/csv"]["schema"] == {"type": "string"}, path
                    continue
                assert schema is not None, (method, path, status)
                assert "$ref" in schema or "properties" in schema, (method, path, status)
                # A reference leads to an object whose properties are named.
                assert _resolve(spec, schema).get("properties"), (method, path, status)


def _allows_null(schema: dict[str, Any]) -> bool:
    kinds = schema.get("type")
    if kinds == "null" or (isinstance(kinds, list) and "null" in kinds):
        return True
    return any(_allows_null(branch) for branch in schema.get("anyOf", []) + schema.get("oneOf", []))


def test_text_parameters_describe_only_values_a_request_can_carry(client: TestClient) -> None:
    """A query or path parameter is text: leaving it out is its "none", so its schema offers no
    null branch (one would let a fuzzer call a valid string a changed null)."""
    spec = client.get("/openapi.json").json()
    source = next(
        parameter
        for parameter in spec["paths"]["/v1/ingest/rejections"]["get"]["parameters"]
        if parameter["name"] == "source"
    )
    # The pattern FastAPI put on the non-null branch stays; only the null branch goes.
    assert source["schema"]["pattern"] == "^[a-z0-9_-]{1,32}$"
    assert source["required"] is False
    optional = 0
    for ops in spec["paths"].values():
        for operation in ops.values():
            for parameter in operation.get("parameters", []):
                assert not _allows_null(parameter["schema"]), parameter
                optional += not parameter.get("required", False)
    assert optional >= 20
