"""OTLP/HTTP logs and metrics exports: they carry no usage, so they are checked to be exports
and answered, and their content is dropped.

Instrumentations such as openlit export all three signals to one endpoint; answering 404 to
two of them makes their exporters log errors and retry, though nothing of them is wanted here.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

from ingest.content_encoding import decompress
from ingest.errors import PayloadError
from ingest.otlp import PROTOBUF_TYPES, is_json, media_type, parse_otlp_json


@dataclass(frozen=True)
class Signal:
    """One OTLP signal's request and response messages, and its JSON export's list field."""

    name: str
    request: type[Message]
    response: type[Message]
    json_list: str


LOGS = Signal("logs", ExportLogsServiceRequest, ExportLogsServiceResponse, "resourceLogs")
METRICS = Signal(
    "metrics", ExportMetricsServiceRequest, ExportMetricsServiceResponse, "resourceMetrics"
)


def check_export(signal: Signal, body: bytes, content_type: str, encoding: str | None) -> None:
    """Refuse (PayloadError) a body that is not an OTLP export of `signal`; ignore its content."""
    data = decompress(body, encoding)
    if is_json(content_type):
        parse_otlp_json(data, signal.request())
        return
    if media_type(content_type) in PROTOBUF_TYPES:
        try:
            signal.request().ParseFromString(data)
        except DecodeError:
            raise PayloadError(
                "body", f"not a valid OTLP protobuf {signal.request.__name__}"
            ) from None
        return
    raise PayloadError("Content-Type", "use application/x-protobuf or application/json")


def empty_response(signal: Signal) -> bytes:
    """The protobuf answer to an export: full success (nothing is ever refused)."""
    return bytes(signal.response().SerializeToString())
