"""The error answers every route can give, written into the OpenAPI document so clients (and
the schemathesis run) see each status the service may return."""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["detail"],
    "properties": {
        # A sentence naming the field and the reason; FastAPI's own validation gives a list.
        "detail": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}]}
    },
}
# What a batch route answers when every item was rejected: the per-item reasons.
BATCH_REJECTED_SCHEMA = {
    "title": "BatchRejected",
    "type": "object",
    "required": ["rejected"],
    "properties": {
        "rejected": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["index", "error"],
                "properties": {"index": {"type": "integer"}, "error": {"type": "string"}},
            },
        }
    },
}
BATCH_ROUTES = ("/v1/usage", "/v1/caches")
UNREADY_SCHEMA = {
    "title": "Unready",
    "type": "object",
    "required": ["status", "reason"],
    "properties": {"status": {"const": "unavailable"}, "reason": {"type": "string"}},
}
REASONS = {
    "400": "Body is not valid JSON (or a bad Content-Length).",
    "401": "Missing, invalid, expired or revoked API key.",
    "403": "The key lacks the scope this route needs.",
    "404": "No such resource for this tenant.",
    "409": "Conflicts with what is stored.",
    "413": "Body over CACHEMETER_MAX_BODY_BYTES, or batch over CACHEMETER_MAX_BATCH.",
    "422": "A field is invalid; the message names it and why.",
    "503": "The database is unavailable; retry after Retry-After seconds. /readyz: why the"
    " service cannot serve (database down, not migrated, role not granted).",
}


def _statuses(path: str, method: str) -> list[str]:
    if path == "/readyz":
        return ["503"]
    if path == "/metrics":
        return ["401"]
    # The Langfuse SDK's OTLP path is an API route like those under /v1.
    if not path.startswith(("/v1/", "/api/public/")):
        return []
    statuses = ["401", "403", "413", "422", "503"]
    if method in ("post", "put"):
        statuses.append("400")
    if method == "delete" or "{" in path:
        statuses.append("404")
    if path in ("/v1/prices", "/v1/usage") and method == "post":
        statuses.append("409")
    return statuses


def add_error_responses(schema: dict[str, Any]) -> None:
    """Document the error statuses of every operation (in place)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    components["BatchRejected"] = BATCH_REJECTED_SCHEMA
    error = {"$ref": "#/components/schemas/Error"}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in _statuses(path, method):
                body: dict[str, Any] = error
                if path == "/readyz":
                    body = UNREADY_SCHEMA
                elif status == "422" and path in BATCH_ROUTES:
                    body = {"anyOf": [error, {"$ref": "#/components/schemas/BatchRejected"}]}
                responses[status] = {
                    "description": responses.get(status, {}).get("description", REASONS[status]),
                    "content": {"application/json": {"schema": body}},
                }


# Where a parameter travels as text, a missing value is the only "null" a client can send.
TEXT_LOCATIONS = ("query", "path", "header", "cookie")


def drop_null_from_parameters(schema: dict[str, Any]) -> None:
    """Describe an optional path, query, header or cookie parameter by the values it can carry
    (in place): FastAPI writes `anyOf: [X, {type: null}]` for `X | None`, but no request can
    send a JSON null there (leaving the parameter out is how a client says "none"), and the
    null branch makes schema-driven clients and fuzzers treat any value as a changed null."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") in TEXT_LOCATIONS:
                    parameter["schema"] = _without_null(parameter.get("schema", {}))


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    branches = schema.get("anyOf")
    if not isinstance(branches, list):
        return schema
    values = [branch for branch in branches if branch != {"type": "null"}]
    if len(values) == len(branches) or not values:
        return schema
    # A null default is the parameter left out, which the schema need not say.
    rest = {
        key: value
        for key, value in schema.items()
        if key != "anyOf" and not (key == "default" and value is None)
    }
    if len(values) == 1:
        return {**values[0], **rest}
    return {**rest, "anyOf": values}
