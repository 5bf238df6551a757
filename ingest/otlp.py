"""OTLP/HTTP trace exports (protobuf or JSON, optionally gzip) -> push records for GenAI spans.

Spans without GenAI token usage are skipped, not errors. The record's app is the resource's
`service.name` (or a `cachemeter.app` attribute), its environment `deployment.environment[.name]`,
its team a `cachemeter.team` attribute; the request id is `gen_ai.response.id`, else the span id.
"""

from __future__ import annotations

import base64
import contextlib
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from ingest.content_encoding import decompress
from ingest.errors import PayloadError
from ingest.json_body import parse_json
from ingest.shapes import otel

M = TypeVar("M", bound=Message)


@dataclass(frozen=True, slots=True)
class Span:
    """What a GenAI record needs from one span."""

    span_id: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    resource: dict[str, Any]
    # The instrumentation scope that emitted it (who instrumented the call).
    scope: str = ""


# OTLP/JSON nests a few levels more than a usage object (resource, scope, span, attribute,
# array and kvlist values).
OTLP_JSON_DEPTH = 64
# OTLP/JSON spells these ids in hex where the protobuf JSON mapping expects base64.
_HEX_IDS = ("traceId", "spanId", "parentSpanId")


def _ids_to_base64(data: Any) -> None:
    """Rewrite OTLP/JSON's hex ids (in place) as the protobuf JSON mapping's base64."""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key in _HEX_IDS:
                value = node.get(key)
                if isinstance(value, str) and value:
                    # Not hex: left for the mapping to read (or refuse) as base64.
                    with contextlib.suppress(ValueError):
                        node[key] = base64.b64encode(bytes.fromhex(value)).decode()
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, dict | list))


def _messages_are_objects(value: Any, descriptor: Any, path: str) -> None:
    """Refuse what the protobuf JSON reader would take silently: with unknown fields ignored,
    a string where a message belongs reads as an empty message (its characters as unknown
    field names). Every message-typed field must hold an object (a list of them if repeated)."""
    stack = [(value, descriptor, path)]
    while stack:
        node, desc, where = stack.pop()
        if not isinstance(node, dict):
            raise PayloadError(where, f"must be an object ({desc.name}), got {type(node).__name__}")
        for field in desc.fields:
            if field.message_type is None:
                continue
            child = node.get(field.json_name, node.get(field.name))
            if child is None:
                continue
            name = f"{where}.{field.json_name}"
            if field.is_repeated:
                if not isinstance(child, list):
                    raise PayloadError(name, f"must be a list, got {type(child).__name__}")
                stack.extend((c, field.message_type, f"{name}[{i}]") for i, c in enumerate(child))
            else:
                stack.append((child, field.message_type, name))


def parse_otlp_json(data: bytes, message: M) -> M:
    """An OTLP/JSON export read into its protobuf message, as the OTLP specification maps it;
    PayloadError (HTTP 400) when the body is not one."""
    parsed = parse_json(data, max_depth=OTLP_JSON_DEPTH)
    _messages_are_objects(parsed, message.DESCRIPTOR, "body")
    _ids_to_base64(parsed)
    try:
        json_format.ParseDict(parsed, message, ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, ValueError) as exc:
        name = type(message).__name__
        raise PayloadError("body", f"not an OTLP/JSON {name}: {str(exc)[:300]}") from None
    return message


def _proto_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_proto_value(v) for v in value.array_value.values]
    if kind == "double_value" and not math.isfinite(value.double_value):
        return None  # NaN and infinities are no count, time or price (and not JSON)
    return (
        getattr(value, kind)
        if kind in ("string_value", "bool_value", "int_value", "double_value")
        else None
    )


def spans_of(request: ExportTraceServiceRequest) -> Iterator[Span]:
    """Spans of an OTLP ExportTraceServiceRequest."""
    for resource_spans in request.resource_spans:
        resource = {a.key: _proto_value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield Span(
                    span.span_id.hex(),
                    span.start_time_unix_nano,
                    span.end_time_unix_nano,
                    {a.key: _proto_value(a.value) for a in span.attributes},
                    resource,
                    scope_spans.scope.name,
                )


def media_type(content_type: str) -> str:
    """A Content-Type's media type, without parameters, lower-cased (RFC 9110: media types are
    case-insensitive): `Application/JSON; charset=utf-8` is `application/json`."""
    return content_type.split(";", 1)[0].strip().lower()


PROTOBUF_TYPES = ("application/x-protobuf", "application/protobuf")


def is_json(content_type: str) -> bool:
    """Whether an export (and so its answer) is OTLP/JSON."""
    return media_type(content_type) == "application/json"


def decode(body: bytes, content_type: str, encoding: str | None) -> list[Span]:
    """Every span of an export, whatever its encoding."""
    data = decompress(body, encoding)
    request = ExportTraceServiceRequest()
    if is_json(content_type):
        return list(spans_of(parse_otlp_json(data, request)))
    if media_type(content_type) in PROTOBUF_TYPES:
        try:
            request.ParseFromString(data)
        except DecodeError:
            raise PayloadError(
                "body", "not a valid OTLP protobuf ExportTraceServiceRequest"
            ) from None
        return list(spans_of(request))
    raise PayloadError("Content-Type", "use application/x-protobuf or application/json")


def to_record(span: Span) -> dict[str, Any] | None:
    """The push record of a GenAI span; None for any other span."""
    attributes = span.attributes
    if not otel.is_genai(attributes):
        return None
    resource = span.resource
    start = _span_start(span.start_ns)
    usage = {k: v for k, v in attributes.items() if isinstance(v, int | float | str | bool)}
    # Who emitted the span: instrumentors differ in what they put in the standard names.
    usage[otel.SCOPE] = span.scope
    if isinstance(resource.get(otel.SDK), str):
        usage[otel.SDK] = resource[otel.SDK]
    record: dict[str, Any] = {
        "usage": usage,
        "request_id": attributes.get("gen_ai.response.id") or span.span_id or None,
        "occurred_at": start,
        "ttft_ms": otel.ttft_ms(attributes) or _first_output_ms(attributes, span.start_ns),
        "latency_ms": (span.end_ns - span.start_ns) / 1e6 if span.end_ns > span.start_ns else None,
        "app": attributes.get("cachemeter.app")
        or resource.get("cachemeter.app")
        or _named_service(resource)
        or _langfuse_metadata(attributes, "app")
        or attributes.get("langfuse.trace.name"),
        "team": attributes.get("cachemeter.team")
        or resource.get("cachemeter.team")
        or _langfuse_metadata(attributes, "team"),
        "environment": resource.get("deployment.environment.name")
        or resource.get("deployment.environment")
        or attributes.get("langfuse.environment"),
        "prompt_cache_key": attributes.get("gen_ai.request.prompt_cache_key")
        or attributes.get("cachemeter.prompt_cache_key"),
        "prefix_hash": attributes.get("cachemeter.prefix_hash"),
    }
    return {
        k: (
            str(v)
            if k in ("app", "team", "environment", "request_id", "prompt_cache_key", "prefix_hash")
            and v is not None
            else v
        )
        for k, v in record.items()
        if v is not None
    }


def _span_start(start_ns: int) -> str | None:
    """The span's start as ISO 8601; past year 9999, a text the record's check refuses naming
    occurred_at (so one bad span never fails its export's other spans)."""
    if not start_ns:
        return None
    try:
        return datetime.fromtimestamp(start_ns / 1e9, UTC).isoformat()
    except (OverflowError, ValueError, OSError):
        return f"{start_ns} ns after 1970"


def _named_service(resource: Mapping[str, Any]) -> Any:
    """`service.name`, unless it is the SDK's placeholder for an unnamed one."""
    name = resource.get("service.name")
    return None if isinstance(name, str) and name.startswith("unknown_service") else name


def _langfuse_metadata(attributes: Mapping[str, Any], key: str) -> Any:
    """A key of the metadata Langfuse flattens onto its spans (observation, then trace)."""
    return attributes.get(f"langfuse.observation.metadata.{key}") or attributes.get(
        f"langfuse.trace.metadata.{key}"
    )


def _first_output_ms(attributes: Mapping[str, Any], start_ns: int) -> float | None:
    """Langfuse's `completion_start_time` (the first output token, ISO 8601) less the start."""
    value = attributes.get("langfuse.observation.completion_start_time")
    if not isinstance(value, str) or not start_ns:
        return None
    try:
        moment = datetime.fromisoformat(value.strip('"').replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    elapsed = (moment.timestamp() * 1e9 - start_ns) / 1e6
    return elapsed if elapsed >= 0 else None
