"""OTLP/HTTP trace exports (protobuf or JSON, optionally gzip) -> push records for GenAI spans.

Spans without GenAI token usage are skipped, not errors. The record's app is the resource's
`service.name` (or a `cachemeter.app` attribute), its environment `deployment.environment[.name]`,
its team a `cachemeter.team` attribute; the request id is `gen_ai.response.id`, else the span id.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from ingest.errors import PayloadError
from ingest.shapes import otel

MAX_DECOMPRESSED = 64 * 1024 * 1024


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


def decompress(body: bytes, encoding: str | None) -> bytes:
    """The body without its Content-Encoding (gzip or deflate), bounded in size."""
    if not encoding or encoding == "identity":
        return body
    try:
        if encoding == "gzip":
            with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:
                data = stream.read(MAX_DECOMPRESSED + 1)
        elif encoding == "deflate":
            data = zlib.decompressobj().decompress(body, MAX_DECOMPRESSED + 1)
        else:
            raise PayloadError("Content-Encoding", f"unsupported {encoding!r} (use gzip or none)")
    except (OSError, zlib.error, EOFError):
        raise PayloadError("body", f"not valid {encoding} data") from None
    if len(data) > MAX_DECOMPRESSED:
        raise PayloadError("body", "more than 64 MiB once decompressed")
    return data


def _any_value(value: Any) -> Any:
    """An OTLP AnyValue (JSON form) as a plain value."""
    if not isinstance(value, Mapping):
        return None
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        return int(value["intValue"])  # JSON carries int64 as a string
    if "arrayValue" in value:
        return [_any_value(v) for v in value["arrayValue"].get("values", [])]
    return None


def _attributes(items: Any) -> dict[str, Any]:
    return {
        item["key"]: _any_value(item.get("value"))
        for item in items or []
        if isinstance(item, Mapping) and "key" in item
    }


def spans_from_json(data: Any) -> Iterator[Span]:
    """Spans of an OTLP/JSON ExportTraceServiceRequest."""
    if not isinstance(data, Mapping) or not isinstance(data.get("resourceSpans", []), list):
        raise PayloadError("resourceSpans", "an OTLP JSON export needs a resourceSpans list")
    for resource_spans in data.get("resourceSpans", []):
        resource = _attributes((resource_spans.get("resource") or {}).get("attributes"))
        for scope_spans in resource_spans.get("scopeSpans", []) or []:
            scope = (scope_spans.get("scope") or {}).get("name")
            for span in scope_spans.get("spans", []) or []:
                yield Span(
                    str(span.get("spanId", "")),
                    int(span.get("startTimeUnixNano", 0) or 0),
                    int(span.get("endTimeUnixNano", 0) or 0),
                    _attributes(span.get("attributes")),
                    resource,
                    scope if isinstance(scope, str) else "",
                )


def _proto_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_proto_value(v) for v in value.array_value.values]
    return (
        getattr(value, kind)
        if kind in ("string_value", "bool_value", "int_value", "double_value")
        else None
    )


def spans_from_protobuf(data: bytes) -> Iterator[Span]:
    """Spans of an OTLP/protobuf ExportTraceServiceRequest."""
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(data)
    except DecodeError:
        raise PayloadError("body", "not a valid OTLP protobuf ExportTraceServiceRequest") from None
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


def decode(body: bytes, content_type: str, encoding: str | None) -> list[Span]:
    """Every span of an export, whatever its encoding."""
    data = decompress(body, encoding)
    if content_type.startswith("application/json"):
        try:
            parsed = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise PayloadError("body", f"not valid JSON: {exc}") from None
        return list(spans_from_json(parsed))
    if content_type.startswith(("application/x-protobuf", "application/protobuf")):
        return list(spans_from_protobuf(data))
    raise PayloadError("Content-Type", "use application/x-protobuf or application/json")


def to_record(span: Span) -> dict[str, Any] | None:
    """The push record of a GenAI span; None for any other span."""
    attributes = span.attributes
    if not otel.is_genai(attributes):
        return None
    resource = span.resource
    start = datetime.fromtimestamp(span.start_ns / 1e9, UTC) if span.start_ns else None
    usage = {k: v for k, v in attributes.items() if isinstance(v, int | float | str | bool)}
    # Who emitted the span: instrumentors differ in what they put in the standard names.
    usage[otel.SCOPE] = span.scope
    if isinstance(resource.get(otel.SDK), str):
        usage[otel.SDK] = resource[otel.SDK]
    record: dict[str, Any] = {
        "usage": usage,
        "request_id": attributes.get("gen_ai.response.id") or span.span_id or None,
        "occurred_at": start.isoformat() if start else None,
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
