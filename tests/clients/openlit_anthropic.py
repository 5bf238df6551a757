"""openlit's Anthropic instrumentation, exporting traces (and its metrics) over OTLP/HTTP."""

import openlit
from common import anthropic_calls, anthropic_client, env

openlit.init(
    otlp_endpoint=env("CM_URL"),
    otlp_headers={"Authorization": f"Bearer {env('CM_KEY')}"},
    application_name="openlit-anthropic",
    disable_batch=True,
)
anthropic_calls(anthropic_client())
from opentelemetry import trace  # noqa: E402

trace.get_tracer_provider().force_flush()  # type: ignore[attr-defined]
