"""OpenTelemetry GenAI span attributes (semantic conventions), plus common alternative names.

`gen_ai.usage.input_tokens` INCLUDES cache reads and creation (the convention says it SHOULD);
reads in `gen_ai.usage.cache_read.input_tokens`, writes in
`gen_ai.usage.cache_creation.input_tokens`, reasoning (inside output) in
`gen_ai.usage.reasoning.output_tokens`, time to first chunk in seconds. Alternatives read when
the standard name is absent: Sentry `gen_ai.usage.input_tokens.cached`, OpenInference
`llm.token_count.*`, Vercel AI SDK `ai.usage.*`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingest.fields import count, text
from ingest.shapes.base import Normalised, make_usage

INPUT = (
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
    "ai.usage.inputTokens",
    "ai.usage.promptTokens",
)
OUTPUT = (
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
    "ai.usage.outputTokens",
    "ai.usage.completionTokens",
)
CACHE_READ = (
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.input_tokens.cached",
    "llm.token_count.prompt_details.cache_read",
    "llm.token_count.prompt_details.cache_input",
    "ai.usage.cachedInputTokens",
)
CACHE_WRITE = (
    "gen_ai.usage.cache_creation.input_tokens",
    "llm.token_count.prompt_details.cache_write",
)
REASONING = (
    "gen_ai.usage.reasoning.output_tokens",
    "llm.token_count.completion_details.reasoning",
    "ai.usage.reasoningTokens",
)
PROVIDER = (
    "gen_ai.provider.name",
    "gen_ai.system",
    "llm.provider",
    "llm.system",
    "ai.model.provider",
)
MODEL = (
    "gen_ai.response.model",
    "gen_ai.request.model",
    "llm.model_name",
    "ai.response.model",
    "ai.model.id",
)
TTFT_SECONDS = ("gen_ai.response.time_to_first_chunk", "gen_ai.server.time_to_first_token")


_USAGE_NAMES = frozenset((*INPUT, *OUTPUT))


def is_genai(attributes: Mapping[str, Any]) -> bool:
    """True for a span that reports LLM token usage."""
    # Shape detection asks this of every pushed payload: one set operation, not a scan.
    return not _USAGE_NAMES.isdisjoint(attributes.keys())


def _first_count(attributes: Mapping[str, Any], names: tuple[str, ...]) -> int | None:
    for name in names:
        value = count(attributes, (name,), name)
        if value is not None:
            return value
    return None


def _first_text(attributes: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = text(attributes, (name,))
        if value:
            return value
    return None


def ttft_ms(attributes: Mapping[str, Any]) -> float | None:
    """Time to first chunk in milliseconds, if the span has it."""
    for name in TTFT_SECONDS:
        value = attributes.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value) * 1000
    return None


def normalise(attributes: Mapping[str, Any]) -> Normalised:
    """One GenAI span's attributes (flat `name: value`)."""
    provider = _first_text(attributes, PROVIDER)
    # The Vercel AI SDK names providers like "anthropic.messages": keep the vendor part.
    if provider and "." in provider and provider.startswith(("anthropic.", "openai.", "google.")):
        provider = provider.split(".", 1)[0]
    return Normalised(
        shape="otel.genai",
        usage=make_usage(
            "attributes",
            input_tokens=_first_count(attributes, INPUT),
            cache_read=_first_count(attributes, CACHE_READ),
            cache_write=_first_count(attributes, CACHE_WRITE),
            output=_first_count(attributes, OUTPUT),
            reasoning=_first_count(attributes, REASONING),
        ),
        model=_first_text(attributes, MODEL),
        response_id=_first_text(attributes, ("gen_ai.response.id",)),
        provider=provider,
    )
