"""What the dashboard answers when a request is wrong or the database is away: a malformed or
crafted callback request is a 400 naming what was wrong, a database that does not answer a
503 with Retry-After; never Flask's HTML 500 page, never a stack trace."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any

import flask
from pydantic import BaseModel, ConfigDict, ValidationError
from werkzeug.exceptions import BadRequest, HTTPException

from store.db import DATABASE_DOWN, DATABASE_DOWN_DETAIL, RETRY_AFTER_SECONDS

log = logging.getLogger(__name__)

CALLBACK_PATH = "_dash-update-component"

# The type every callback input and state of this dashboard has, by property (None is always
# allowed: Dash sends it before a component has a value). The dropdowns and text inputs hold
# strings only. A callback reading a property not listed here is refused until it is added
# (tests/test_dashboard_errors.py checks every registered callback).
VALUE_TYPES: dict[str, type] = {
    "pathname": str,
    "search": str,
    "value": str,
    "start_date": str,
    "end_date": str,
    "n_clicks": int,
}


class _Prop(BaseModel):
    """One output, input or state of a callback request, as the Dash renderer sends it."""

    # Dash's own format: tolerate keys it may add; pattern-matching ids (dicts, nested lists)
    # are not used by this dashboard and are refused.
    model_config = ConfigDict(extra="allow")

    id: str
    property: str
    value: Any = None


class _CallbackRequest(BaseModel):
    """The body of POST _dash-update-component."""

    model_config = ConfigDict(extra="allow")

    output: str
    outputs: _Prop | list[_Prop]
    inputs: list[_Prop]
    state: list[_Prop] = []
    changedPropIds: list[str] = []  # Dash's field name


def _specs(declared: Any) -> list[tuple[str, str]]:
    items = declared if isinstance(declared, list) else [declared]
    return [
        (str(item["id"]), str(item["property"]))
        if isinstance(item, dict)
        else (str(item.component_id), str(item.component_property))
        for item in items
    ]


def callback_problem(body: Any, callbacks: Mapping[str, Mapping[str, Any]]) -> str | None:
    """Why `body` is not a request for one of `callbacks` with values of the right types, or
    None when it is one."""
    try:
        call = _CallbackRequest.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        return f"not a callback request: {where}: {first['msg']}"
    spec = callbacks.get(call.output)
    if spec is None:
        return f"no callback has the output {call.output[:200]!r}"
    outputs = call.outputs if isinstance(call.outputs, list) else [call.outputs]
    if [(o.id, o.property) for o in outputs] != _specs(spec["output"]):
        return f"outputs do not match the callback of {call.output!r}"
    for part, given in (("inputs", call.inputs), ("state", call.state)):
        expected = _specs(spec.get(part, []))
        if [(p.id, p.property) for p in given] != expected:
            names = ", ".join(f"{i}.{p}" for i, p in expected) or "none"
            return f"{part} do not match the callback of {call.output!r} (expected {names})"
        for prop in given:
            wanted = VALUE_TYPES.get(prop.property)
            name = f"{prop.id}.{prop.property}"
            if wanted is None:
                return f"{name} is not an input this dashboard reads"
            if prop.value is None:
                continue
            if not isinstance(prop.value, wanted) or isinstance(prop.value, bool):
                return f"{name} must be a {wanted.__name__} or null"
            if isinstance(prop.value, str) and "\x00" in prop.value:
                return f"{name} must not contain a NUL character"
    return None


def choice(value: str | None, allowed: Collection[str], name: str) -> str:
    """`value` when it is one of `allowed`; else the request is a 400 saying what is."""
    if value is None or value not in allowed:
        raise BadRequest(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _is_callback() -> bool:
    return flask.request.path.lstrip("/").startswith("_dash-")


def install(server: flask.Flask, callbacks: Mapping[str, Mapping[str, Any]]) -> None:
    """Check callback requests before Dash dispatches them, and answer every error as JSON
    (callbacks) or plain text (pages). Install after the sign-in check, so a request that is
    not signed in is a 401 whatever its body."""

    @server.before_request
    def check_callback_request() -> Any:
        if flask.request.path.lstrip("/") != CALLBACK_PATH or flask.request.method != "POST":
            return None
        body = flask.request.get_json(silent=True)
        if body is None:
            problem: str | None = "the body must be a JSON object (Content-Type: application/json)"
        else:
            problem = callback_problem(body, callbacks)
        return None if problem is None else (flask.jsonify({"error": problem}), 400)

    def database_down(exc: Exception) -> Any:
        log.warning("dashboard: database unavailable: %s", type(exc).__name__)
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        if _is_callback():
            return flask.jsonify({"detail": DATABASE_DOWN_DETAIL}), 503, headers
        return DATABASE_DOWN_DETAIL, 503, {**headers, "Content-Type": "text/plain"}

    for unavailable in DATABASE_DOWN:
        server.register_error_handler(unavailable, database_down)

    @server.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        # Pages keep werkzeug's short pages (404, 405); callbacks get JSON.
        if not _is_callback():
            return exc
        return flask.jsonify({"error": exc.description}), exc.code or 500

    @server.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        # A fault of ours, not of the request: logged with its trace here, told without it.
        log.exception("dashboard: %s %s failed", flask.request.method, flask.request.path)
        if _is_callback():
            return flask.jsonify({"error": "internal error"}), 500
        return "internal error", 500, {"Content-Type": "text/plain"}
