"""traceloop's OpenAI instrumentor."""

from common import openai_calls, openai_client, tracer_provider
from opentelemetry.instrumentation.openai import OpenAIInstrumentor

provider = tracer_provider("traceloop-openai")
OpenAIInstrumentor().instrument(tracer_provider=provider)
openai_calls(openai_client())
provider.force_flush()
