"""POST /v1/logs and /v1/metrics answer OTLP exporters (protobuf or JSON, gzip) with a valid,
empty Export*ServiceResponse and drop the content: exporters that send every signal to one
endpoint (openlit) see success, not 404. Same key and body limit as /v1/traces."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric, NumberDataPoint
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, func, select

from cachemeter.config import Settings
from cachemeter.server import create_app
from store.models import UsageEvent
from tests.factories import tenant_with_key

PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}


def _logs() -> ExportLogsServiceRequest:
    export = ExportLogsServiceRequest()
    resource = export.resource_logs.add()
    resource.resource.attributes.append(
        KeyValue(key="service.name", value=AnyValue(string_value="chat"))
    )
    resource.scope_logs.add().log_records.append(
        LogRecord(
            time_unix_nano=1_795_000_000_000_000_000,
            severity_text="INFO",
            body=AnyValue(string_value="gen_ai.content.prompt"),
            attributes=[KeyValue(key="gen_ai.system", value=AnyValue(string_value="openai"))],
        )
    )
    return export


def _metrics() -> ExportMetricsServiceRequest:
    export = ExportMetricsServiceRequest()
    metric = Metric(name="gen_ai.client.token.usage", unit="{token}")
    metric.sum.data_points.append(
        NumberDataPoint(time_unix_nano=1_795_000_000_000_000_000, as_int=4000)
    )
    export.resource_metrics.add().scope_metrics.add().metrics.append(metric)
    return export


def test_protobuf_and_json_exports_are_answered_and_dropped(
    client: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    cases: tuple[tuple[str, Any, Any, str], ...] = (
        ("/v1/logs", _logs(), ExportLogsServiceResponse, "resourceLogs"),
        ("/v1/metrics", _metrics(), ExportMetricsServiceResponse, "resourceMetrics"),
    )
    for path, export, response_type, json_list in cases:
        body = export.SerializeToString()
        answer = client.post(path, content=body, headers={**auth, **PROTOBUF})
        assert answer.status_code == 200, (path, answer.text)
        assert answer.headers["content-type"] == "application/x-protobuf"
        parsed = response_type.FromString(answer.content)
        assert not parsed.HasField("partial_success")  # full success
        zipped = client.post(
            path,
            content=gzip.compress(body),
            headers={**auth, **PROTOBUF, "Content-Encoding": "gzip"},
        )
        assert zipped.status_code == 200
        as_json = json_format.MessageToJson(export)
        answer = client.post(path, content=as_json, headers={**auth, **JSON})
        assert answer.status_code == 200, (path, answer.text)
        assert answer.json() == {}
        json_format.Parse(answer.text, response_type())  # a valid OTLP/JSON answer
        # What is not an export of the signal is refused, as /v1/traces refuses it.
        bad = client.post(path, content=b"\x00garbage", headers={**auth, **PROTOBUF})
        assert bad.status_code == 400 and "protobuf" in bad.json()["detail"]
        not_a_list = client.post(path, content=json.dumps({json_list: 1}), headers={**auth, **JSON})
        assert not_a_list.status_code == 400
        assert client.post(path, content=body, headers=PROTOBUF).status_code == 401
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(UsageEvent)).scalar_one() == 0


def test_the_sdk_exporters_see_success(engine: Engine, live_url: str) -> None:
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricExportResult

    _, key = tenant_with_key(engine)
    headers = {"Authorization": f"Bearer {key}"}
    results: list[Any] = []

    class Recording(OTLPLogExporter):
        def export(self, batch: Any) -> Any:
            results.append(super().export(batch))
            return results[-1]

    provider = LoggerProvider()
    exporter = Recording(
        endpoint=f"{live_url}/v1/logs", headers=headers, compression=Compression.Gzip
    )
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    provider.get_logger("cachemeter-test").emit(
        body="gen_ai.choice", attributes={"gen_ai.system": "openai"}
    )
    provider.shutdown()
    assert [r.name for r in results] == ["SUCCESS"]

    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    counter = meter_provider.get_meter("cachemeter-test").create_counter("gen_ai.client.tokens")
    counter.add(4000, {"gen_ai.token.type": "input"})
    data = reader.get_metrics_data()
    assert data is not None
    metric_exporter = OTLPMetricExporter(endpoint=f"{live_url}/v1/metrics", headers=headers)
    assert metric_exporter.export(data) == MetricExportResult.SUCCESS
    meter_provider.shutdown()


def test_exports_over_the_body_limit_are_refused(engine: Engine) -> None:
    _, key = tenant_with_key(engine)
    app = create_app(
        Settings(secret_key="s", max_body_bytes=1024, regression_interval_seconds=0),
        engine=engine,
        registry=CollectorRegistry(),
    )
    big = _logs()
    big.resource_logs[0].scope_logs[0].log_records[0].body.string_value = "x" * 4096
    with TestClient(app) as client:
        answer = client.post(
            "/v1/logs",
            content=big.SerializeToString(),
            headers={"Authorization": f"Bearer {key}", **PROTOBUF},
        )
    assert answer.status_code == 413


@pytest.mark.parametrize("path", ["/v1/logs", "/v1/metrics"])
def test_an_ingest_key_is_enough(client: TestClient, engine: Engine, path: str) -> None:
    _, ingest_only = tenant_with_key(engine, scopes=["ingest"])
    _, read_only = tenant_with_key(engine, scopes=["read"])
    body = (_logs() if path == "/v1/logs" else _metrics()).SerializeToString()
    ok = client.post(
        path, content=body, headers={"Authorization": f"Bearer {ingest_only}", **PROTOBUF}
    )
    assert ok.status_code == 200
    refused = client.post(
        path, content=body, headers={"Authorization": f"Bearer {read_only}", **PROTOBUF}
    )
    assert refused.status_code == 403
