"""OpenTelemetry GenAI span attributes: the semantic conventions, their past names, and what the
instrumentors that emit them actually put there.

Names read (the first of each list that is present wins; a mirror of one count is counted once):
input `gen_ai.usage.input_tokens`; cache reads `gen_ai.usage.cache_read.input_tokens`; cache
writes `gen_ai.usage.cache_write.input_tokens` (current semconv), `…cache_creation.input_tokens`
(its earlier name, traceloop), `…cache_creation_input_tokens` (older openllmetry), Sentry's
`gen_ai.usage.input_tokens.cache_write`; the Anthropic SDK's own tracing adds the TTL split
`anthropic.usage.cache_creation.ephemeral_5m_input_tokens` / `…_1h_…` and the compaction steps
it leaves out of the top-level counts (`anthropic.usage.compaction.input_tokens` /
`output_tokens`); reasoning `gen_ai.usage.reasoning.output_tokens` (inside output). OpenInference
`llm.token_count.*` and Vercel AI SDK `ai.usage.*` names are read too.

Inclusive or exclusive input. The convention says `gen_ai.usage.input_tokens` SHOULD include
cached tokens, and the Anthropic SDK, traceloop and OpenInference do so. openlit puts Anthropic's
raw `input_tokens` there, which excludes them: a span from openlit (resource
`telemetry.sdk.name` = openlit, or its instrumentation scope) for Anthropic is read as exclusive,
and so is a span of a provider whose API counts input that way (Anthropic, Bedrock) whose cache
counts exceed its input (they can only sit beside it); for another provider that is an invalid
span.

The xAI SDK's spans report `gen_ai.usage.reasoning_tokens` beside `output_tokens`
(completion), with the cache read as `gen_ai.usage.cached_prompt_text_tokens`.

Langfuse's SDK puts usage in `langfuse.observation.usage_details` (a JSON object: a provider's
own usage object, or Langfuse's keys where `input` excludes the cache and every `input*` key is
a part of the input), the model in `langfuse.observation.model.name` and the charge in
`langfuse.observation.cost_details` (`total`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from ingest.errors import PayloadError
from ingest.fields import count, is_object, money, same_tokens, text
from ingest.json_body import parse_json
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
    "gen_ai.usage.cache_read_input_tokens",
    "gen_ai.usage.cached_prompt_text_tokens",
    "llm.token_count.prompt_details.cache_read",
    "llm.token_count.prompt_details.cache_input",
    "ai.usage.cachedInputTokens",
)
CACHE_WRITE = (
    "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "gen_ai.usage.input_tokens.cache_write",
    "llm.token_count.prompt_details.cache_write",
)
WRITE_5M = ("anthropic.usage.cache_creation.ephemeral_5m_input_tokens",)
WRITE_1H = ("anthropic.usage.cache_creation.ephemeral_1h_input_tokens",)
COMPACTION_INPUT = ("anthropic.usage.compaction.input_tokens",)
COMPACTION_OUTPUT = ("anthropic.usage.compaction.output_tokens",)
REASONING = (
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.output_tokens.reasoning",
    "gen_ai.usage.reasoning_tokens",
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
    "langfuse.observation.model.name",
    "gen_ai.request.model",
    "llm.model_name",
    "ai.response.model",
    "ai.model.id",
)
TTFT_SECONDS = ("gen_ai.response.time_to_first_chunk", "gen_ai.server.time_to_first_token")
LANGFUSE_USAGE = "langfuse.observation.usage_details"
LANGFUSE_COST = "langfuse.observation.cost_details"
# What the OTLP receiver adds beside a span's attributes: who emitted it.
SCOPE = "otel.scope.name"
SDK = "telemetry.sdk.name"
# The xAI SDK's own spans (their cache read has a name of its own).
_XAI_SIGNATURE = "gen_ai.usage.cached_prompt_text_tokens"

_USAGE_NAMES = frozenset((*INPUT, *OUTPUT, LANGFUSE_USAGE))


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


def provider_of(attributes: Mapping[str, Any]) -> str | None:
    """The provider a span names (the Vercel AI SDK's `anthropic.messages`: its vendor part)."""
    provider = _first_text(attributes, PROVIDER)
    if provider and "." in provider and provider.startswith(("anthropic.", "openai.", "google.")):
        provider = provider.split(".", 1)[0]
    return provider


def _from_openlit(attributes: Mapping[str, Any]) -> bool:
    scope = str(attributes.get(SCOPE) or "")
    return str(attributes.get(SDK) or "").lower() == "openlit" or scope.startswith("openlit")


# Providers whose own API counts input without the cache (Anthropic, and Bedrock's Converse and
# Claude models): an instrumentor may pass that count on as it came.
_EXCLUSIVE_PROVIDERS = frozenset(
    ("anthropic", "claude", "aws", "aws.bedrock", "aws_bedrock", "bedrock")
)


def _exclusive(
    attributes: Mapping[str, Any], provider: str | None, cached: int, plain: int
) -> bool:
    """Whether the span's input count leaves its cache reads and writes out: openlit's spans of
    Anthropic always, and any span of such a provider whose cache exceeds its input (the cache
    can only sit beside it). Elsewhere a cache beyond the input is an error, not a reading."""
    model = str(_first_text(attributes, MODEL) or "").lower()
    own_exclusive = (provider or "").lower() in _EXCLUSIVE_PROVIDERS or model.startswith(
        ("claude", "anthropic.")
    )
    if not own_exclusive:
        return False
    return cached > plain or _from_openlit(attributes)


def normalise(attributes: Mapping[str, Any]) -> Normalised:
    """One GenAI span's attributes (flat `name: value`)."""
    if LANGFUSE_USAGE in attributes and not any(k in attributes for k in INPUT):
        return _langfuse(attributes)
    provider = provider_of(attributes)
    plain = _first_count(attributes, INPUT)
    read = same_tokens(attributes, [(n,) for n in CACHE_READ], "attributes") or 0
    short = _first_count(attributes, WRITE_5M)
    long = _first_count(attributes, WRITE_1H)
    written = same_tokens(attributes, [(n,) for n in CACHE_WRITE], "attributes")
    if written is None and (short is not None or long is not None):
        written = (short or 0) + (long or 0)
    output = _first_count(attributes, OUTPUT)
    reasoning = _first_count(attributes, REASONING)
    if plain is not None and _exclusive(attributes, provider, read + (written or 0), plain):
        plain += read + (written or 0)
    if _XAI_SIGNATURE in attributes and reasoning:
        output = (output or 0) + reasoning  # the xAI SDK's completion excludes reasoning
    compaction_in = _first_count(attributes, COMPACTION_INPUT) or 0
    compaction_out = _first_count(attributes, COMPACTION_OUTPUT) or 0
    return Normalised(
        shape="otel.genai",
        usage=make_usage(
            "attributes",
            input_tokens=None if plain is None else plain + compaction_in,
            cache_read=read,
            cache_write=written,
            cache_write_1h=long,
            output=(output or 0) + compaction_out,
            reasoning=reasoning,
        ),
        model=_first_text(attributes, MODEL),
        response_id=_first_text(attributes, ("gen_ai.response.id",)),
        provider=provider,
    )


# Langfuse's own usage keys: `input` is the uncached input, every `input*` key a part of it;
# the cache keys Langfuse's integrations and docs use.
_LF_READ = ("input_cached_tokens", "input_cache_read", "cache_read_input_tokens")
_LF_WRITE = ("input_cache_creation", "input_cache_write", "cache_creation_input_tokens")
_LF_REASONING = ("output_reasoning", "output_reasoning_tokens", "reasoning_tokens")


def _json_object(attributes: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    value = attributes.get(name)
    if value is None or is_object(value):
        return value
    if not isinstance(value, str):
        raise PayloadError(name, "must be a JSON object")
    # The strict reader every body goes through: bounded nesting (the standard module
    # recurses until it overflows), no NaN, infinity or lone surrogate.
    try:
        parsed = parse_json(value, field=name)
    except PayloadError as exc:
        raise PayloadError(name, f"must be a JSON object ({exc.reason})") from None
    if parsed is not None and not is_object(parsed):
        raise PayloadError(name, "must be a JSON object")
    return parsed


def langfuse_provider_usage(attributes: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """A Langfuse span's usage when it is a provider's own usage object (Langfuse's OpenAI and
    Anthropic integrations pass it as it came), for the shape readers; else None."""
    if LANGFUSE_USAGE not in attributes or any(k in attributes for k in INPUT):
        return None
    usage = _json_object(attributes, LANGFUSE_USAGE) or {}
    return usage if "prompt_tokens" in usage or "input_tokens" in usage else None


def with_langfuse(attributes: Mapping[str, Any], own: Normalised) -> Normalised:
    """`own` (the provider usage a Langfuse span carried, as read) with what the span says."""
    model = _first_text(attributes, MODEL)
    provider = provider_of(attributes)
    return replace(
        own,
        shape="otel.langfuse",
        model=model or own.model,
        provider=provider or (own.provider if own.provider != "unknown" else None),
        reported_cost=_langfuse_cost(attributes),
    )


def _langfuse_cost(attributes: Mapping[str, Any]) -> Decimal | None:
    cost = _json_object(attributes, LANGFUSE_COST) or {}
    return money(cost, ("total",), f"{LANGFUSE_COST}.total")


def _langfuse(attributes: Mapping[str, Any]) -> Normalised:
    """Langfuse's own usage keys."""
    usage = _json_object(attributes, LANGFUSE_USAGE) or {}
    label = LANGFUSE_USAGE
    values = {key: count(usage, (key,), f"{label}.{key}") for key in usage}
    read = same_tokens(usage, [(k,) for k in _LF_READ], label) or 0
    written = same_tokens(usage, [(k,) for k in _LF_WRITE], label) or 0
    parts = sum(v or 0 for k, v in values.items() if k.startswith("input") and k != "input")
    beside = sum(values.get(k) or 0 for k in _LF_READ + _LF_WRITE if not k.startswith("input"))
    output = sum(v or 0 for k, v in values.items() if k.startswith("output") and k != "output")
    return Normalised(
        shape="otel.langfuse",
        usage=make_usage(
            label,
            input_tokens=(values.get("input") or 0) + parts + beside,
            cache_read=read,
            cache_write=written,
            output=(values.get("output") or 0) + output,
            reasoning=same_tokens(usage, [(k,) for k in _LF_REASONING], label),
        ),
        model=_first_text(attributes, MODEL),
        provider=provider_of(attributes),
        reported_cost=_langfuse_cost(attributes),
    )
