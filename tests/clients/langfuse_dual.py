"""Langfuse and a second destination from one TracerProvider: a provider registered globally
with its own OTLP exporter (CM_KEY_2) before the Langfuse client (CM_KEY), which adds its
processor to it, as the README says."""

import langfuse
from common import MESSAGES, MODEL, env
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

provider = TracerProvider()
provider.add_span_processor(
    BatchSpanProcessor(
        OTLPSpanExporter(
            endpoint=f"{env('CM_URL')}/v1/traces",
            headers={"Authorization": f"Bearer {env('CM_KEY_2')}"},
        )
    )
)
trace.set_tracer_provider(provider)
client = langfuse.Langfuse(public_key="pk-lf-x", secret_key=env("CM_KEY"), host=env("CM_URL"))
with client.start_as_current_observation(
    as_type="generation", name="both", model=MODEL, input=MESSAGES
) as generation:
    generation.update(output="ok", usage_details={"input": 30, "output": 5})
client.flush()
provider.force_flush()
