"""Usage shapes of their own: xAI's native SDK (built with the real xai-sdk protos), DashScope's
two shapes, Perplexity's extra counts, and Bedrock's invocation metrics on InvokeModel streams.
Expected counts follow each provider's documentation (see the shape modules' docstrings)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from google.protobuf import json_format
from xai_sdk.proto.v6 import chat_pb2, usage_pb2

from ingest.detect import normalise_payload
from ingest.errors import PayloadError


def _counts(payload: Any, provider: str | None = None) -> tuple[int, ...]:
    u = normalise_payload(payload, provider).usage
    return (
        u.input_tokens,
        u.cache_read_tokens,
        u.cache_write_tokens,
        u.output_tokens,
        u.reasoning_tokens,
    )


def _xai_response(**usage: Any) -> chat_pb2.GetChatCompletionResponse:
    return chat_pb2.GetChatCompletionResponse(
        id="b4c0d9e2-1",
        model="grok-4-1-fast-reasoning",
        usage=usage_pb2.SamplingUsage(**usage),
        service_tier=usage_pb2.SERVICE_TIER_DEFAULT,
    )


XAI_USAGE = {
    "prompt_tokens": 4211,
    "prompt_text_tokens": 4211,
    "cached_prompt_text_tokens": 4032,
    "completion_tokens": 57,
    "reasoning_tokens": 310,
    "total_tokens": 4578,
    "cost_in_usd_ticks": 2_215_000,
}


@pytest.mark.parametrize("preserving", [False, True], ids=["camelCase", "proto-names"])
def test_xai_native_response_json(preserving: bool) -> None:
    body = json_format.MessageToDict(
        _xai_response(**XAI_USAGE), preserving_proto_field_name=preserving
    )
    result = normalise_payload(body)
    # prompt_tokens includes the cached text; reasoning is outside completion: 57 + 310.
    assert _counts(body) == (4211, 4032, 0, 367, 310)
    assert result.provider == "x-ai" and result.shape == "xai.native"
    assert result.model == "grok-4-1-fast-reasoning" and result.response_id == "b4c0d9e2-1"
    # 2,215,000 ticks of 1e-10 USD.
    assert result.reported_cost == Decimal("0.0002215")
    assert result.service_tier == "default"


def test_xai_native_zero_fields_are_left_out_of_the_json() -> None:
    # proto3 JSON omits zeros: a request with no cache hit and no reasoning.
    body = json_format.MessageToDict(
        _xai_response(prompt_tokens=12, prompt_text_tokens=12, completion_tokens=5)
    )
    assert "cachedPromptTextTokens" not in body["usage"]
    assert _counts(body) == (12, 0, 0, 5, 0)
    # Without an xAI-only field set, the hint (or the model name's provider) tells.
    bare = {"usage": {"promptTokens": 12, "completionTokens": 5}}
    assert _counts(bare, "xai") == (12, 0, 0, 5, 0)


def test_xai_native_server_side_tools_are_counted_per_call() -> None:
    body = json_format.MessageToDict(
        _xai_response(
            prompt_tokens=900,
            completion_tokens=40,
            server_side_tools_used=[
                usage_pb2.SERVER_SIDE_TOOL_WEB_SEARCH,
                usage_pb2.SERVER_SIDE_TOOL_WEB_SEARCH,
                usage_pb2.SERVER_SIDE_TOOL_X_SEARCH,
            ],
        )
    )
    result = normalise_payload(body)
    assert dict(result.tool_requests) == {"web_search": 2, "x_search": 1}
    numbered = json_format.MessageToDict(
        _xai_response(prompt_tokens=9, server_side_tools_used=[3]), use_integers_for_enums=True
    )
    assert dict(normalise_payload(numbered).tool_requests) == {"code_execution": 1}


def test_xai_native_bad_counts_name_the_field() -> None:
    with pytest.raises(PayloadError) as caught:
        normalise_payload({"usage": {"cachedPromptTextTokens": "many", "promptTokens": 3}})
    assert caught.value.field == "usage.cachedPromptTextTokens"
    unknown = r"server_side_tools_used\[0\]: unknown server-side tool 'ROCKET'"
    with pytest.raises(PayloadError, match=unknown):
        normalise_payload({"usage": {"promptTokens": 3, "serverSideToolsUsed": ["ROCKET"]}})


def test_dashscope_compatible_mode_explicit_cache() -> None:
    # Model Studio's context-cache example (OpenAI-compatible): prompt_tokens includes both.
    details: dict[str, Any] = {
        "cached_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 3015},
        "cache_creation_input_tokens": 3015,
        "cache_type": "ephemeral",
    }
    body = {
        "id": "chatcmpl-5c1f",
        "object": "chat.completion",
        "model": "qwen3-max",
        "usage": {
            "prompt_tokens": 3019,
            "completion_tokens": 104,
            "total_tokens": 3123,
            "prompt_tokens_details": details,
        },
    }
    result = normalise_payload(body)
    assert _counts(body) == (3019, 0, 3015, 104, 0)
    assert result.provider == "alibaba" and result.shape == "dashscope.chat"
    # The write's TTL split alone (no total) still counts the write.
    del details["cache_creation_input_tokens"]
    assert _counts(body, "dashscope") == (3019, 0, 3015, 104, 0)


def test_dashscope_native_api_reads_prompt_tokens_details() -> None:
    body = {
        "status_code": 200,
        "request_id": "a1b2c3d4-5e6f",
        "output": {"choices": [{"finish_reason": "stop", "message": {"role": "assistant"}}]},
        "usage": {
            "input_tokens": 2210,
            "output_tokens": 88,
            "total_tokens": 2298,
            "prompt_tokens_details": {"cached_tokens": 2048},
        },
    }
    result = normalise_payload(body, model="qwen-plus")
    assert _counts(body) == (2210, 2048, 0, 88, 0)
    assert result.provider == "alibaba" and result.response_id == "a1b2c3d4-5e6f"


def test_perplexity_cost_object_is_its_own_shape() -> None:
    body = {
        "id": "3c90c3cc-0d44",
        "model": "sonar",
        "object": "chat.completion",
        "usage": {
            "prompt_tokens": 7,
            "completion_tokens": 120,
            "total_tokens": 127,
            "search_context_size": "low",
            "cost": {
                "input_tokens_cost": 0.000007,
                "output_tokens_cost": 0.00012,
                "request_cost": 0.005,
                "total_cost": 0.005127,
            },
        },
        "citations": ["https://example.com"],
    }
    result = normalise_payload(body)
    assert _counts(body) == (7, 0, 0, 120, 0)
    assert result.provider == "perplexity" and result.reported_cost == Decimal("0.005127")


def test_perplexity_deep_research_reasoning_is_beside_completion() -> None:
    # total_tokens = prompt + completion: reasoning (billed at its own rate) is outside.
    body = {
        "model": "sonar-deep-research",
        "usage": {
            "prompt_tokens": 19,
            "completion_tokens": 5718,
            "total_tokens": 5737,
            "citation_tokens": 10175,
            "num_search_queries": 48,
            "reasoning_tokens": 214606,
        },
    }
    result = normalise_payload(body)
    assert _counts(body) == (19, 0, 0, 5718 + 214606, 214606)
    assert dict(result.tool_requests) == {"web_search": 48, "citation_tokens": 10175}


def test_bedrock_invoke_stream_invocation_metrics_win() -> None:
    events = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_01XYZ",
                "model": "claude-sonnet-4-5",
                "usage": {
                    "input_tokens": 12,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0,
                    "output_tokens": 1,
                },
            },
        },
        {"type": "message_delta", "usage": {"output_tokens": 75}},
        {
            "type": "message_stop",
            "amazon-bedrock-invocationMetrics": {
                "inputTokenCount": 12,
                "outputTokenCount": 75,
                "invocationLatency": 1400,
                "firstByteLatency": 420,
                "cacheReadInputTokenCount": 3100,
                "cacheWriteInputTokenCount": 0,
            },
        },
    ]
    result = normalise_payload(events)
    # Bedrock's metering: 12 uncached + 3,100 read; it names who served it.
    assert _counts(events) == (3112, 3100, 0, 75, 0)
    assert result.provider == "aws"


def test_deepseek_answering_in_anthropic_shape_is_deepseek() -> None:
    # DeepSeek's Anthropic-compatible endpoint (api.deepseek.com/anthropic) names its own model.
    body = {
        "id": "msg_0f1e2d",
        "type": "message",
        "model": "deepseek-chat",
        "usage": {"input_tokens": 40, "cache_read_input_tokens": 1024, "output_tokens": 12},
    }
    result = normalise_payload(body)
    assert result.provider == "deepseek"
    assert _counts(body) == (1064, 1024, 0, 12, 0)
    # Claude itself stays Anthropic's.
    body["model"] = "claude-sonnet-4-5"
    assert normalise_payload(body).provider == "anthropic"


@pytest.mark.parametrize(
    ("model", "searches"),
    [("gemini-3-pro-preview", 3), ("gemini-2.5-flash", 1)],
    ids=["per-query", "per-prompt"],
)
def test_gemini_grounding_searches_are_counted_as_billed(model: str, searches: int) -> None:
    grounding = {"webSearchQueries": ["a", "b", "c"], "groundingChunks": []}
    body = {
        "modelVersion": model,
        "candidates": [{"content": {"parts": []}, "groundingMetadata": grounding}],
        "usageMetadata": {"promptTokenCount": 50, "candidatesTokenCount": 20},
    }
    # Gemini 3 bills each search query, earlier models each grounded prompt.
    assert dict(normalise_payload(body).tool_requests) == {"web_search": searches}


def test_gemini_stream_grounding_on_an_earlier_chunk_is_counted() -> None:
    grounding = {"webSearchQueries": ["a", "b"]}
    chunks = [
        {
            "modelVersion": "gemini-3-pro-preview",
            "candidates": [{"content": {"parts": [{"text": "x"}]}, "groundingMetadata": grounding}],
        },
        {
            "modelVersion": "gemini-3-pro-preview",
            "candidates": [{"content": {"parts": [{"text": "y"}]}}],
            "usageMetadata": {"promptTokenCount": 120, "candidatesTokenCount": 31},
        },
    ]
    result = normalise_payload(chunks)
    assert dict(result.tool_requests) == {"web_search": 2}
    assert _counts(chunks) == (120, 0, 0, 31, 0)
