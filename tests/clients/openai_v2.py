"""OpenTelemetry's own OpenAI instrumentation (opentelemetry-instrumentation-openai-v2)."""

from common import openai_calls, openai_client, tracer_provider
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

provider = tracer_provider("otel-openai-v2")
OpenAIInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
openai_calls(openai_client())
provider.force_flush()
