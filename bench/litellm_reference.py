"""LiteLLM's own reading of a recorded provider response, for bench/corpus_compare.py
(written against LiteLLM 1.110.2, the dev extra's pin).

Nothing here re-implements a provider's usage rules: each attempt hands the recorded body to the
code LiteLLM itself runs on that provider's response, and reads the `Usage` it builds.

- Chat bodies: the provider's chat config from `ProviderConfigManager.get_provider_chat_config`
  and its `transform_response` (Anthropic `AnthropicConfig`, Bedrock `AmazonConverseConfig` and
  the InvokeModel configs, Gemini `GoogleAIStudioGeminiConfig` and Vertex `VertexGeminiConfig`,
  Cohere v1 and v2, xAI, Groq, Mistral, ...); for OpenAI-compatible bodies also
  `convert_to_model_response_object`, what LiteLLM runs on an OpenAI SDK response (OpenAI, Azure).
- Streams: LiteLLM's chunk parser for the provider (Anthropic's and Gemini's
  `ModelResponseIterator`, Bedrock's event-stream decoders, the config's iterator for
  OpenAI-compatible chunks) over all events; the usage of each parsed chunk from the last back and
  that of `litellm.stream_chunk_builder` over them all (the usage LiteLLM logs for a stream).
  Each event is also tried alone as a body.
- OpenAI Responses (and OpenRouter, Fireworks, xAI, Azure where LiteLLM has a Responses config):
  `transform_response_api_response`, or `transform_streaming_response` per event, then
  `ResponseAPILoggingUtils._transform_response_api_usage_to_chat_usage`.
- Gemini Interactions: `GoogleAIStudioInteractionsConfig` then
  `InteractionsUsageObjectTransformation.transform_interactions_usage_object`.

Like genai-prices, LiteLLM gets every fair chance: each applicable entry point, on the payload
and on each stream event; the caller counts the best attempt.

The counts are read from `Usage` as LiteLLM's cost calculator reads them
(`litellm_core_utils/llm_cost_calc/utils.py`, `_cache_token_counts`): input is `prompt_tokens`
(cache reads and writes included, per provider in LiteLLM's transformations); cache read is
`prompt_tokens_details.cached_tokens`, else the `cache_read_input_tokens` it mirrors; cache write
is `prompt_tokens_details.cache_write_tokens` or `.cache_creation_tokens`, else
`cache_creation_input_tokens`; output is `completion_tokens` (reasoning included: LiteLLM bills
text = completion - reasoning, plus reasoning).

Importing this module imports litellm (ImportError when it is not installed). It keeps LiteLLM
to its bundled price map: no fetch from the network.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

# Before litellm is imported: it fetches its price map from GitHub at import time otherwise.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import httpx
import litellm
from litellm.litellm_core_utils.litellm_logging import Logging
from litellm.litellm_core_utils.llm_response_utils.convert_dict_to_response import (
    convert_to_model_response_object,
)
from litellm.types.utils import LlmProviders, ModelResponse, ModelResponseStream, Usage
from litellm.utils import ProviderConfigManager

litellm.suppress_debug_info = True
logging.getLogger("LiteLLM").setLevel(logging.CRITICAL)

# The case's provider (who served it) as LiteLLM names its chat providers.
CHAT_PROVIDERS = {
    "anthropic": ["anthropic"],
    "azure": ["azure"],
    "aws": ["bedrock"],
    "bedrock": ["bedrock"],
    "cohere": ["cohere_chat"],
    "deepseek": ["deepseek"],
    "fireworks": ["fireworks_ai"],
    "google": ["gemini", "vertex_ai"],
    "groq": ["groq"],
    "mistral": ["mistral"],
    "openai": ["openai"],
    "openrouter": ["openrouter"],
    "together": ["together_ai"],
    "xai": ["xai"],
    "x-ai": ["xai"],
}
# Providers whose chat bodies are OpenAI's shape.
OPENAI_COMPATIBLE = {
    "openai", "azure", "deepseek", "fireworks", "groq", "mistral", "openrouter", "together", "xai",
    "x-ai",
}  # fmt: skip

Counts = dict[str, int]
Attempt = tuple[str, Counts]


def counts(usage: Usage) -> Counts:
    """The priced counts in a LiteLLM `Usage`, read as LiteLLM's cost calculator reads them."""
    details = usage.prompt_tokens_details
    read = getattr(details, "cached_tokens", None) or getattr(usage, "_cache_read_input_tokens", 0)
    write = (
        getattr(details, "cache_write_tokens", None)
        or getattr(details, "cache_creation_tokens", None)
        or getattr(usage, "_cache_creation_input_tokens", 0)
    )
    return {
        "input_tokens": int(usage.prompt_tokens or 0),
        "cache_read_tokens": int(read or 0),
        "cache_write_tokens": int(write or 0),
        "output_tokens": int(usage.completion_tokens or 0),
    }


def _logging(model: str, stream: bool = False) -> Logging:
    log = Logging(
        model=model,
        messages=[],
        stream=stream,
        call_type="completion",
        start_time=datetime.now(UTC),
        litellm_call_id="corpus",
        function_id="corpus",
    )
    log.update_environment_variables(litellm_params={}, optional_params={}, model=model)
    return log


def _http(body: Any) -> httpx.Response:
    return httpx.Response(200, json=body, request=httpx.Request("POST", "https://example.invalid"))


def _chat_configs(case: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(LiteLLM provider, model, chat config) for each chat route LiteLLM has for the provider."""
    model = case["model"]
    for provider in CHAT_PROVIDERS.get(case["provider"], [case["provider"]]):
        if provider == "bedrock":
            # Bedrock's route is named in the model: Converse or InvokeModel.
            routes = [f"converse/{model}", f"invoke/{model}"]
        elif provider == "cohere_chat":
            # v2 by default, v1 (which reads meta.billed_units) when the model names it.
            routes = [model, f"v1/{model}"]
        else:
            routes = [model]
        for route in routes:
            try:
                config: Any = ProviderConfigManager.get_provider_chat_config(
                    model=route, provider=LlmProviders(provider)
                )
            except Exception:  # no config for this route
                continue
            if config is not None:
                yield provider, model, config


def _transform_response(config: Any, model: str, body: Any) -> Usage | None:
    response = config.transform_response(
        model=model,
        raw_response=_http(body),
        model_response=ModelResponse(),
        logging_obj=_logging(model),
        request_data={},
        messages=[],
        optional_params={},
        litellm_params={},
        encoding=None,
        api_key=None,
        json_mode=None,
    )
    usage = getattr(response, "usage", None)
    return usage if isinstance(usage, Usage) else None


def _stream_parsers(
    provider: str, model: str, config: Any
) -> Iterator[tuple[str, Callable[..., Any]]]:
    """(name, chunk parser) for each stream parser LiteLLM runs on this provider's events."""
    if provider == "anthropic":
        from litellm.llms.anthropic.chat.handler import ModelResponseIterator

        anthropic = ModelResponseIterator(
            streaming_response=None, sync_stream=True, json_mode=False
        )
        yield "anthropic ModelResponseIterator.chunk_parser", anthropic.chunk_parser
    elif provider in ("gemini", "vertex_ai"):
        from litellm.llms.vertex_ai.gemini.vertex_and_google_ai_studio_gemini import (
            ModelResponseIterator as GeminiIterator,
        )

        gemini = GeminiIterator(
            streaming_response=None, sync_stream=True, logging_obj=_logging(model, True)
        )
        yield "gemini ModelResponseIterator.chunk_parser", gemini.chunk_parser
    elif provider == "bedrock":
        from litellm.llms.bedrock.base_aws_llm import BaseAWSLLM
        from litellm.llms.bedrock.chat import get_bedrock_event_stream_decoder
        from litellm.llms.bedrock.chat.invoke_handler import AWSEventStreamDecoder

        # The Converse handler's decoder, and the one InvokeModel picks for the model's vendor.
        converse = AWSEventStreamDecoder(model=model)
        yield "bedrock AWSEventStreamDecoder.chunk_parser", converse.chunk_parser
        invoke = get_bedrock_event_stream_decoder(
            invoke_provider=BaseAWSLLM.get_bedrock_invoke_provider(model),
            model=model,
            sync_stream=True,
            json_mode=False,
        )
        if type(invoke) is not AWSEventStreamDecoder:
            yield f"bedrock {type(invoke).__name__}.chunk_parser", invoke.chunk_parser
    else:
        iterator = config.get_model_response_iterator(
            streaming_response=iter(()), sync_stream=True, json_mode=False
        )
        if iterator is None:  # the provider streams through the OpenAI SDK
            from litellm.llms.openai.chat.gpt_transformation import (
                OpenAIChatCompletionStreamingHandler,
            )

            iterator = OpenAIChatCompletionStreamingHandler(
                streaming_response=iter(()), sync_stream=True, json_mode=False
            )
        yield f"{type(iterator).__name__}.chunk_parser", iterator.chunk_parser


def _stream_attempts(name: str, parse: Callable[..., Any], events: list[Any]) -> Iterator[Attempt]:
    chunks = []
    for event in events:
        try:
            chunk = parse(event)
        except Exception:  # LiteLLM raises many kinds for an event it cannot read
            continue
        if isinstance(chunk, ModelResponseStream):
            chunks.append(chunk)
    for chunk in reversed(chunks):
        usage = getattr(chunk, "usage", None)
        if isinstance(usage, Usage):
            yield name, counts(usage)
    if chunks:
        try:
            built = litellm.stream_chunk_builder(chunks, messages=[])
        except Exception:
            return
        usage = getattr(built, "usage", None)
        if isinstance(usage, Usage):
            yield f"{name} + stream_chunk_builder", counts(usage)


def _chat_attempts(case: dict[str, Any], bodies: list[Any]) -> Iterator[Attempt]:
    streamed: set[str] = set()
    for provider, model, config in _chat_configs(case):
        label = f"{type(config).__name__}.transform_response"
        for body in bodies:
            try:
                usage = _transform_response(config, model, body)
            except Exception:  # LiteLLM raises many kinds for a body it cannot read
                continue
            if usage is not None:
                yield label, counts(usage)
        if isinstance(case["payload"], list) and provider not in streamed:
            streamed.add(provider)  # the stream parsers are the provider's, not the route's
            for name, parse in _stream_parsers(provider, model, config):
                yield from _stream_attempts(name, parse, case["payload"])
    if case["provider"] in OPENAI_COMPATIBLE:
        for body in bodies:
            try:
                response = convert_to_model_response_object(
                    response_object=body, model_response_object=ModelResponse()
                )
            except Exception:
                continue
            usage = getattr(response, "usage", None)
            if isinstance(usage, Usage):
                yield "convert_to_model_response_object", counts(usage)


def _responses_attempts(case: dict[str, Any]) -> Iterator[Attempt]:
    from litellm.responses.utils import ResponseAPILoggingUtils

    to_chat = ResponseAPILoggingUtils._transform_response_api_usage_to_chat_usage
    model, payload = case["model"], case["payload"]
    for provider in CHAT_PROVIDERS.get(case["provider"], [case["provider"]]):
        try:
            config: Any = ProviderConfigManager.get_provider_responses_api_config(
                provider=provider, model=model
            )
        except Exception:
            continue
        if config is None:
            continue
        name = type(config).__name__
        if isinstance(payload, dict):
            try:
                response = config.transform_response_api_response(
                    model=model, raw_response=_http(payload), logging_obj=_logging(model)
                )
                yield f"{name}.transform_response_api_response", counts(to_chat(response.usage))
            except Exception:
                pass
            continue
        for event in reversed(payload):
            try:
                parsed = config.transform_streaming_response(
                    model=model, parsed_chunk=event, logging_obj=_logging(model, True)
                )
                usage = getattr(getattr(parsed, "response", None), "usage", None)
                if usage is not None:
                    yield f"{name}.transform_streaming_response", counts(to_chat(usage))
            except Exception:
                continue


def _interactions_attempts(case: dict[str, Any]) -> Iterator[Attempt]:
    if case["provider"] != "google":
        return
    from litellm.litellm_core_utils.llm_cost_calc.usage_object_transformation import (
        InteractionsUsageObjectTransformation as Interactions,
    )
    from litellm.llms.gemini.interactions.transformation import GoogleAIStudioInteractionsConfig

    config = GoogleAIStudioInteractionsConfig()  # type: ignore[no-untyped-call, unused-ignore]
    model, payload = case["model"], case["payload"]
    usages: list[Any] = []
    if isinstance(payload, dict):
        try:
            response = config.transform_response(
                model=model, raw_response=_http(payload), logging_obj=_logging(model)
            )
            usages.append(getattr(response, "usage", None))
        except Exception:
            pass
    else:
        for event in reversed(payload):
            try:
                parsed = config.transform_streaming_response(
                    model=model, parsed_chunk=event, logging_obj=_logging(model, True)
                )
            except Exception:
                continue
            # What LiteLLM's logging builds from a stream's terminal event for its cost.
            completed = Logging._assemble_completed_interaction_response(parsed)
            usages.append(getattr(completed, "usage", None))
    for usage in usages:
        if hasattr(usage, "model_dump"):
            usage = usage.model_dump()
        if isinstance(usage, dict) and Interactions.is_interactions_usage_object(usage):
            yield (
                "GoogleAIStudioInteractionsConfig + transform_interactions_usage_object",
                counts(Interactions.transform_interactions_usage_object(usage)),
            )


def attempts(case: dict[str, Any]) -> Iterator[Attempt]:
    """(entry point, priced counts) for each LiteLLM transformation that reads the case."""
    payload = case["payload"]
    if isinstance(payload, dict):
        bodies = [payload]
    else:
        bodies = [event for event in reversed(payload) if isinstance(event, dict)]
    yield from _chat_attempts(case, bodies)
    yield from _responses_attempts(case)
    yield from _interactions_attempts(case)
