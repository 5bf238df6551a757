"""The Anthropic SDK's own tracing (on whenever a TracerProvider exists), nothing else."""

from common import anthropic_calls, anthropic_client, tracer_provider

provider = tracer_provider("anthropic-native")
anthropic_calls(anthropic_client())
provider.force_flush()
