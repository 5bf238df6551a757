"""Shape detection: which normaliser reads a payload, and which provider sent it.

Structure decides the family (OpenAI-style `prompt_tokens`, Anthropic `input_tokens` plus
`cache_*_input_tokens`, Bedrock `inputTokens`, Gemini `usageMetadata`, the Gemini Interactions
API's `total_input_tokens`, Responses `input_tokens_details`), because a proxy may forward one
provider's model in another's shape. Within the OpenAI-compatible family, the provider (the
sender's hint first, else what the payload implies) picks the variant.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from billing.aliases import canonical_provider, provider_for_model
from ingest.errors import PayloadError
from ingest.fields import dig, is_object
from ingest.shapes import (
    anthropic,
    bedrock,
    canonical,
    cohere,
    dashscope,
    deepseek,
    gemini,
    gemini_interactions,
    groq,
    litellm,
    mistral,
    moonshot,
    openai_chat,
    openai_responses,
    openrouter,
    otel,
    perplexity,
    stepfun,
    venice,
    xai,
    xai_native,
)
from ingest.shapes.base import Normalised

Normaliser = Callable[[Mapping[str, Any]], Normalised]

CHAT_VARIANTS: dict[str, Normaliser] = {
    "openai": openai_chat.normalise,
    "azure": openai_chat.normalise,
    "deepseek": deepseek.normalise,
    "moonshotai": moonshot.normalise,
    "stepfun": stepfun.normalise,
    "x-ai": xai.normalise,
    "openrouter": openrouter.normalise,
    "venice": venice.normalise,
    "mistral": mistral.normalise,
    "groq": groq.normalise,
    "litellm": litellm.normalise,
    "alibaba": dashscope.normalise,
    "perplexity": perplexity.normalise,
}

_ANTHROPIC_KEYS = ("cache_read_input_tokens", "cache_creation_input_tokens", "cache_creation")
_ANTHROPIC_EVENTS = ("message_start", "message_delta")


def _generic_chat(payload: Mapping[str, Any]) -> Normalised:
    return openai_chat.normalise(payload, openai_chat.GENERIC)


def _chat_normaliser(
    payload: Mapping[str, Any], usage: Mapping[str, Any], model: str | None, hint: str | None
) -> Normaliser:
    if hint in CHAT_VARIANTS:
        return CHAT_VARIANTS[hint]
    if any(k in usage for k in ("cache_read_input_tokens", "cache_creation_input_tokens")):
        return litellm.normalise
    if "response_cost" in payload or "_hidden_params" in payload:
        return litellm.normalise
    if "prompt_cache_hit_tokens" in usage:
        return deepseek.normalise
    # OpenRouter's `cost` is a number; another gateway's cost object is not OpenRouter's.
    if isinstance(usage.get("cost"), int | float | str) or "is_byok" in usage:
        return openrouter.normalise
    implied = provider_for_model(model) if model else None
    if implied in CHAT_VARIANTS:
        return CHAT_VARIANTS[implied]
    return _generic_chat


def _has_usage(item: Any) -> bool:
    if not is_object(item):
        return False
    return any(
        dig(item, path) is not None
        for path in (
            ("usage",),
            ("usageMetadata",),
            ("usage_metadata",),
            ("x_groq", "usage"),
            ("metadata", "usage"),
            ("response", "usage"),
            ("interaction", "usage"),
        )
    )


def _from_list(events: Sequence[Any], hint: str | None) -> Normalised:
    if not events:
        raise PayloadError("payload", "an empty list carries no usage")
    if any(is_object(e) and e.get("type") in _ANTHROPIC_EVENTS for e in events):
        return anthropic.normalise_events(events)
    # Stream chunks: usage arrives on the last chunk that carries it, cumulative where repeated.
    for index in range(len(events) - 1, -1, -1):
        if _has_usage(events[index]):
            try:
                result = _from_object(events[index], hint)
            except PayloadError as exc:
                raise exc.within(f"[{index}]") from None
            if result.shape == "gemini.generate_content":
                # Grounding may come on an earlier chunk than the final usage.
                result = replace(result, tool_requests=gemini.stream_searches(events))
            return result
    raise PayloadError("payload", "no event in this list carries usage")


def _from_object(payload: Mapping[str, Any], hint: str | None) -> Normalised:
    if otel.is_genai(payload):
        own = otel.langfuse_provider_usage(payload)
        if own is not None:
            try:
                return otel.with_langfuse(payload, _from_object(own, hint))
            except PayloadError as exc:
                raise exc.within(otel.LANGFUSE_USAGE) from None
        return otel.normalise(payload)
    kind = payload.get("type")
    if kind in _ANTHROPIC_EVENTS:
        return anthropic.normalise_events([payload])
    if isinstance(kind, str) and kind.startswith("response."):
        return openai_responses.normalise(payload)
    if "usageMetadata" in payload or "usage_metadata" in payload or gemini.is_usage(payload):
        return gemini.normalise(payload)
    # Before Bedrock's `metadata.usage`: Interactions stream events keep theirs there too.
    if gemini_interactions.usage_path(payload) is not None:
        return gemini_interactions.normalise(payload)
    if dig(payload, ("x_groq", "usage")) is not None:
        return groq.normalise(payload)
    if "inputTokens" in payload or dig(payload, ("usage", "inputTokens")) is not None:
        return bedrock.normalise(payload)
    if dig(payload, ("metadata", "usage")) is not None:
        return bedrock.normalise(payload)
    usage = payload.get("usage", payload)
    if not is_object(usage):
        raise PayloadError("usage", f"must be an object, got {type(usage).__name__}")
    if canonical.is_canonical(usage):
        return canonical.normalise(usage)
    if cohere.is_usage(usage):
        return cohere.normalise(payload)
    if xai_native.is_usage(usage) or (hint == "x-ai" and _xai_proto_json(usage)):
        return xai_native.normalise(payload)
    if perplexity.is_usage(usage):
        return perplexity.normalise(payload)
    if dashscope.is_native(payload) and hint in (None, "alibaba"):
        return dashscope.normalise_native(payload)
    if "prompt_tokens" in usage or "completion_tokens" in usage:
        model = payload.get("model")
        return _chat_normaliser(payload, usage, model if isinstance(model, str) else None, hint)(
            payload
        )
    if "input_tokens" in usage or "output_tokens" in usage:
        is_anthropic = (
            any(k in usage for k in _ANTHROPIC_KEYS)
            or payload.get("type") == "message"
            or (hint == "anthropic" and "input_tokens_details" not in usage)
        )
        if is_anthropic:
            return anthropic.normalise(payload)
        return openai_responses.normalise(payload)
    keys = ", ".join(sorted(str(k) for k in usage)[:12]) or "none"
    raise PayloadError(
        "usage",
        "unrecognised usage shape (expected OpenAI prompt_tokens, Anthropic or Responses"
        f" input_tokens, Bedrock inputTokens or Gemini usageMetadata); keys seen: {keys}",
    )


def _xai_proto_json(usage: Mapping[str, Any]) -> bool:
    """A SamplingUsage with no xAI-only field set: camelCase names, or a top-level
    `reasoning_tokens` where OpenAI nests it."""
    if "prompt_tokens_details" in usage or "completion_tokens_details" in usage:
        return False  # the REST API's usage object
    return any(k in usage for k in ("promptTokens", "completionTokens", "reasoningTokens")) or (
        "reasoning_tokens" in usage
    )


def normalise_payload(
    payload: Any, provider: str | None = None, model: str | None = None
) -> Normalised:
    """Read any supported payload; the sender's `provider` and `model` win over the payload's."""
    hint = canonical_provider(provider) if provider else None
    if is_object(payload):
        result = _from_object(payload, hint)
    elif isinstance(payload, list):
        result = _from_list(payload, hint)
    else:
        raise PayloadError("payload", "must be a JSON object or a list of stream events")
    chosen_model = model or result.model
    chosen_provider = (
        hint
        or _served_by(payload, result)
        or _serving_another_shape(result, chosen_model)
        or result.provider
        or _implied_by_shape(result)
        or (provider_for_model(chosen_model) if chosen_model else None)
        or "unknown"
    )
    return replace(result, model=chosen_model, provider=chosen_provider)


# Who served a payload, from what only that service puts in it: a gateway or cloud serves other
# providers' shapes, and its own billing rules apply. Bedrock's Anthropic-compatible endpoint
# names messages `msg_bdrk_…`, ends InvokeModel streams with its invocation metrics and echoes
# its own model ids; OpenRouter's ids start `gen-`; Groq adds `x_groq` to every body, Cerebras
# `time_info`.
_SERVED_BY_ID = (("msg_bdrk_", "aws"), ("gen-", "openrouter"))


def _served_by(payload: Any, result: Normalised) -> str | None:
    """The provider that served `payload` when its ids or fields prove it, else None."""
    rid = result.response_id or ""
    for prefix, provider in _SERVED_BY_ID:
        if rid.startswith(prefix):
            return provider
    first = payload[0] if isinstance(payload, list) and payload else payload
    if is_object(first) and "x_groq" in first:
        return "groq"
    last = payload[-1] if isinstance(payload, list) and payload else payload
    if is_object(last) and "amazon-bedrock-invocationMetrics" in last:
        return "aws"
    if is_object(last) and is_object(last.get("time_info")):
        return "cerebras"
    if result.model and _BEDROCK_MODEL_ID.match(result.model):
        return "aws"
    return None


# Bedrock's model ids (what its OpenAI- and Anthropic-compatible endpoints echo back): an
# optional inference-profile scope, a vendor, and a version after a colon, e.g.
# `us.anthropic.claude-sonnet-4-5-20250929-v1:0`, `openai.gpt-oss-20b-1:0`.
_BEDROCK_MODEL_ID = re.compile(
    r"^(?:(?:us|eu|apac|jp|au|ca|us-gov|global)\.)?"
    r"(?:anthropic|amazon|meta|openai|mistral|cohere|ai21|deepseek|qwen|writer|moonshot)"
    r"\.[a-z0-9][a-z0-9.-]*:\d+$"
)


# Providers that serve Anthropic's Messages API for their own models (DeepSeek, Moonshot, Z.ai,
# MiniMax, Qwen document Anthropic-compatible endpoints): the shape names Anthropic, the model
# names who served it.
def _serving_another_shape(result: Normalised, model: str | None) -> str | None:
    """The model's own provider, where another provider's model answers in Anthropic's shape."""
    if not result.shape.startswith("anthropic.") or not model:
        return None
    implied = provider_for_model(model)
    return implied if implied not in (None, "anthropic") else None


def _implied_by_shape(result: Normalised) -> str | None:
    """The provider a provider-specific shape proves (DeepSeek's hit fields, OpenRouter's cost)."""
    if result.shape == "deepseek.chat":
        return "deepseek"
    if result.reported_cost is not None and result.shape != "litellm.usage":
        return "openrouter"
    return None
