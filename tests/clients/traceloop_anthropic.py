"""traceloop's Anthropic instrumentor beside the SDK's own tracing (on by default): two spans
per call, with the same response id."""

from common import anthropic_calls, anthropic_client, tracer_provider
from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor

provider = tracer_provider("traceloop-anthropic")
AnthropicInstrumentor().instrument(tracer_provider=provider)
anthropic_calls(anthropic_client())
provider.force_flush()
