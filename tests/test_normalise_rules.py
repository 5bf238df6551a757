"""Documented shape rules on payloads other than the fixtures: SDK dumps with nulls, streams,
TTL splits, duplicate reports, and the errors a sender gets for bad counts."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ingest.detect import normalise_payload
from ingest.errors import PayloadError


def test_openai_sdk_model_dump_with_nulls() -> None:
    # openai-python's ChatCompletion.model_dump(): absent details are None, not missing.
    payload: dict[str, Any] = {
        "id": "chatcmpl-9",
        "object": "chat.completion",
        "model": "gpt-4.1-mini",
        "choices": [],
        "service_tier": None,
        "system_fingerprint": None,
        "usage": {
            "prompt_tokens": 1500,
            "completion_tokens": 40,
            "total_tokens": 1540,
            "prompt_tokens_details": None,
            "completion_tokens_details": {"reasoning_tokens": None, "audio_tokens": None},
        },
    }
    result = normalise_payload(payload)
    assert result.provider == "openai"
    assert (result.usage.input_tokens, result.usage.cache_read_tokens) == (1500, 0)
    assert (result.usage.output_tokens, result.usage.reasoning_tokens) == (40, 0)


def test_anthropic_sdk_dump_with_one_hour_writes() -> None:
    payload = {
        "id": "msg_7",
        "type": "message",
        "model": "claude-sonnet-4-5",
        "usage": {
            "input_tokens": 10,
            "cache_creation_input_tokens": 3000,
            "cache_read_input_tokens": None,
            "cache_creation": {
                "ephemeral_5m_input_tokens": 1000,
                "ephemeral_1h_input_tokens": 2000,
            },
            "output_tokens": 50,
            "server_tool_use": None,
            "service_tier": "standard",
        },
    }
    usage = normalise_payload(payload).usage
    # SEPARATE: 10 plain + 3000 written = 3010 total input.
    assert usage.input_tokens == 3010
    assert (usage.cache_write_tokens, usage.cache_write_1h_tokens) == (3000, 2000)
    assert usage.cache_read_tokens == 0
    assert usage.uncached_input_tokens == 10


def test_anthropic_stream_is_cumulative_not_summed() -> None:
    events = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_s",
                "model": "claude-haiku-4-5",
                "usage": {
                    "input_tokens": 5,
                    "cache_read_input_tokens": 4096,
                    "cache_creation_input_tokens": 0,
                    "output_tokens": 1,
                },
            },
        },
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}},
        {"type": "message_delta", "delta": {"stop_reason": None}, "usage": {"output_tokens": 20}},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 77},
        },
        {"type": "message_stop"},
    ]
    result = normalise_payload(events)
    assert result.usage.input_tokens == 5 + 4096
    assert result.usage.cache_read_tokens == 4096
    assert result.usage.output_tokens == 77  # last value, not 1 + 20 + 77
    assert (result.model, result.response_id) == ("claude-haiku-4-5", "msg_s")


def test_anthropic_stream_delta_zeros_do_not_erase_earlier_counts() -> None:
    # message_delta may repeat fields as 0 and carries no TTL split: message_start's cache
    # read, write and 1-hour split stand; the delta's output wins.
    events = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_z",
                "model": "claude-sonnet-4-5",
                "usage": {
                    "input_tokens": 50,
                    "cache_read_input_tokens": 4000,
                    "cache_creation_input_tokens": 1500,
                    "cache_creation": {
                        "ephemeral_5m_input_tokens": 500,
                        "ephemeral_1h_input_tokens": 1000,
                    },
                    "output_tokens": 1,
                },
            },
        },
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {
                "input_tokens": 50,
                "cache_read_input_tokens": 0,
                "cache_creation_input_tokens": 0,
                "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                "output_tokens": 300,
            },
        },
    ]
    usage = normalise_payload(events).usage
    assert usage.input_tokens == 50 + 4000 + 1500
    assert (usage.cache_read_tokens, usage.cache_write_tokens) == (4000, 1500)
    assert usage.cache_write_1h_tokens == 1000
    assert usage.output_tokens == 300


# Anthropic's compaction documentation: the top-level usage (23,000 in, 1,000 out) is the last
# sampling step; the compaction step read 180,000 and wrote a 3,500-token summary.
COMPACTION = {
    "input_tokens": 23000,
    "output_tokens": 1000,
    "iterations": [
        {"type": "compaction", "input_tokens": 180000, "output_tokens": 3500},
        {"type": "message", "input_tokens": 23000, "output_tokens": 1000},
    ],
}


def test_anthropic_compaction_bills_the_sum_of_its_iterations() -> None:
    body = {"id": "msg_c", "type": "message", "model": "claude-sonnet-4-5", "usage": COMPACTION}
    usage = normalise_payload(body).usage
    assert (usage.input_tokens, usage.output_tokens) == (180000 + 23000, 3500 + 1000)
    # The same in a stream, where the final message_delta carries the iterations.
    events = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_c",
                "model": "claude-sonnet-4-5",
                "usage": {"input_tokens": 23000, "output_tokens": 1},
            },
        },
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": COMPACTION},
    ]
    assert normalise_payload(events).usage == usage


def test_anthropic_iterations_carry_their_own_cache_counts() -> None:
    usage = normalise_payload(
        {
            "input_tokens": 30,
            "cache_read_input_tokens": 20000,
            "output_tokens": 400,
            "iterations": [
                {"type": "compaction", "input_tokens": 150000, "output_tokens": 2000},
                {
                    "type": "message",
                    "input_tokens": 30,
                    "cache_read_input_tokens": 20000,
                    "output_tokens": 400,
                },
            ],
        },
        "anthropic",
    ).usage
    assert usage.input_tokens == 150000 + 30 + 20000
    assert usage.cache_read_tokens == 20000
    assert usage.output_tokens == 2000 + 400


def test_openai_stream_chunks_take_the_usage_chunk() -> None:
    chunks: list[dict[str, Any]] = [
        {
            "id": "c1",
            "object": "chat.completion.chunk",
            "model": "gpt-5.1",
            "usage": None,
            "choices": [{"index": 0, "delta": {"content": "a"}}],
        },
        {
            "id": "c1",
            "object": "chat.completion.chunk",
            "model": "gpt-5.1",
            "choices": [],
            "usage": {
                "prompt_tokens": 3000,
                "completion_tokens": 9,
                "prompt_tokens_details": {"cached_tokens": 2944},
            },
        },
    ]
    result = normalise_payload(chunks)
    assert result.shape == "openai.chat.chunk"
    assert (result.usage.input_tokens, result.usage.cache_read_tokens) == (3000, 2944)


def test_responses_stream_events_use_the_completed_event() -> None:
    events = [
        {"type": "response.created", "response": {"id": "resp_1", "usage": None}},
        {"type": "response.output_text.delta", "delta": "x"},
        {
            "type": "response.completed",
            "response": {
                "id": "resp_1",
                "model": "gpt-5.1",
                "usage": {
                    "input_tokens": 2048,
                    "input_tokens_details": {"cached_tokens": 1024},
                    "output_tokens": 10,
                    "output_tokens_details": {"reasoning_tokens": 4},
                },
            },
        },
    ]
    result = normalise_payload(events)
    assert result.shape == "openai.responses.event"
    assert (result.usage.input_tokens, result.usage.cache_read_tokens) == (2048, 1024)
    assert result.response_id == "resp_1"


def test_gemini_python_sdk_snake_case_and_tool_prompt() -> None:
    payload = {
        "model_version": "gemini-2.5-flash",
        "response_id": "r9",
        "usage_metadata": {
            "prompt_token_count": 5000,
            "tool_use_prompt_token_count": 200,
            "cached_content_token_count": 4096,
            "candidates_token_count": 100,
            "thoughts_token_count": None,
            "total_token_count": 5300,
        },
    }
    result = normalise_payload(payload)
    assert result.provider == "google"
    assert result.usage.input_tokens == 5200  # prompt + tool-use prompt
    assert result.usage.cache_read_tokens == 4096
    assert result.usage.output_tokens == 100


def test_gemini_stream_chunks_are_cumulative() -> None:
    chunks = [
        {
            "usageMetadata": {
                "promptTokenCount": 9000,
                "cachedContentTokenCount": 8192,
                "candidatesTokenCount": 5,
            }
        },
        {
            "usageMetadata": {
                "promptTokenCount": 9000,
                "cachedContentTokenCount": 8192,
                "candidatesTokenCount": 80,
                "thoughtsTokenCount": 30,
            }
        },
    ]
    usage = normalise_payload(chunks).usage
    assert (usage.output_tokens, usage.reasoning_tokens) == (110, 30)


def test_bedrock_stream_metadata_event_with_one_hour_split() -> None:
    event = {
        "metadata": {
            "usage": {
                "inputTokens": 12,
                "outputTokens": 300,
                "cacheReadInputTokens": 0,
                "cacheWriteInputTokens": 5000,
                "cacheDetails": [
                    {"ttl": "5m", "inputTokens": 1000},
                    {"ttl": "1h", "inputTokens": 4000},
                ],
            },
            "metrics": {"latencyMs": 1800},
        }
    }
    result = normalise_payload(event, "bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert result.provider == "aws"
    assert result.usage.input_tokens == 12 + 5000
    assert (result.usage.cache_write_tokens, result.usage.cache_write_1h_tokens) == (5000, 4000)
    assert result.latency_ms == 1800.0


def test_xai_reasoning_is_added_to_output() -> None:
    payload = {
        "model": "grok-4",
        "usage": {
            "prompt_tokens": 400,
            "completion_tokens": 50,
            "completion_tokens_details": {"reasoning_tokens": 700},
        },
    }
    usage = normalise_payload(payload).usage
    assert (usage.output_tokens, usage.reasoning_tokens) == (750, 700)


def test_openai_reasoning_stays_inside_output() -> None:
    payload = {
        "model": "o4-mini",
        "usage": {
            "prompt_tokens": 400,
            "completion_tokens": 750,
            "completion_tokens_details": {"reasoning_tokens": 700},
        },
    }
    usage = normalise_payload(payload, "openai").usage
    assert (usage.output_tokens, usage.reasoning_tokens) == (750, 700)


def test_deepseek_hit_and_miss_without_prompt_total() -> None:
    payload = {
        "model": "deepseek-chat",
        "usage": {
            "prompt_cache_hit_tokens": 640,
            "prompt_cache_miss_tokens": 360,
            "completion_tokens": 5,
        },
    }
    usage = normalise_payload(payload).usage
    assert (usage.input_tokens, usage.cache_read_tokens) == (1000, 640)


def test_mirror_defaulted_to_zero_does_not_hide_cached_tokens() -> None:
    # Kimi: top-level cached_tokens and a details object an SDK filled with 0.
    payload = {
        "model": "kimi-k2",
        "usage": {
            "prompt_tokens": 900,
            "completion_tokens": 1,
            "cached_tokens": 768,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    }
    assert normalise_payload(payload).usage.cache_read_tokens == 768


def test_unknown_openai_compatible_provider_reads_common_aliases() -> None:
    payload = {
        "model": "some-model",
        "usage": {
            "prompt_tokens": 2000,
            "completion_tokens": 3,
            "prompt_token_details": {"cached_tokens": 1536},
        },
    }
    result = normalise_payload(payload, "together")
    assert result.provider == "together"
    assert result.usage.cache_read_tokens == 1536


def test_litellm_cache_hit_is_not_prompt_caching() -> None:
    payload = {
        "usage": {"prompt_tokens": 100, "completion_tokens": 1, "cache_read_input_tokens": 0},
        "cache_hit": True,
        "saved_cache_cost": 0.2,
    }
    assert normalise_payload(payload, "litellm").usage.cache_read_tokens == 0


@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        (
            {"usage": {"prompt_tokens": -1, "completion_tokens": 0}},
            "usage.prompt_tokens",
            "negative",
        ),
        (
            {"usage": {"prompt_tokens": "12", "completion_tokens": 0}},
            "usage.prompt_tokens",
            "integer",
        ),
        ({"usage": {"prompt_tokens": 1.5, "completion_tokens": 0}}, "usage.prompt_tokens", "whole"),
        (
            {"usage": {"prompt_tokens": True, "completion_tokens": 0}},
            "usage.prompt_tokens",
            "integer",
        ),
        (
            {"usage": {"prompt_tokens": 100, "prompt_tokens_details": {"cached_tokens": 101}}},
            "usage.prompt_tokens",
            "exceed total input",
        ),
        (
            {
                "usage": {
                    "input_tokens": 0,
                    "cache_creation_input_tokens": 10,
                    "cache_creation": {"ephemeral_1h_input_tokens": 20},
                }
            },
            "usage",
            "1-hour writes",
        ),
        ({"usage": {"foo": 1}}, "usage", "unrecognised usage shape"),
        ({"usage": [1, 2]}, "usage", "must be an object"),
        ([], "payload", "empty list"),
        ("text", "payload", "JSON object"),
    ],
)
def test_bad_counts_name_the_field(payload: Any, field: str, reason: str) -> None:
    with pytest.raises(PayloadError) as info:
        normalise_payload(payload)
    assert info.value.field == field
    assert reason in info.value.reason


def test_litellm_response_cost_is_kept_for_reconciliation() -> None:
    payload = {
        "model": "gpt-5.1",
        "response_cost": 0.0123,
        "usage": {"prompt_tokens": 100, "completion_tokens": 5},
    }
    result = normalise_payload(payload)
    assert result.shape == "litellm.usage"
    assert str(result.reported_cost) == "0.0123"
    assert result.provider == "openai"  # from the model, not "openrouter"


def test_openrouter_cost_is_kept_exactly() -> None:
    payload = {
        "model": "anthropic/claude-opus-4.8",
        "usage": {"prompt_tokens": 194, "completion_tokens": 2, "cost": 0.95},
    }
    result = normalise_payload(payload)
    assert (result.provider, str(result.reported_cost)) == ("openrouter", "0.95")


def test_canonical_counts() -> None:
    usage = normalise_payload(
        {
            "input_tokens": 5000,
            "cache_read_tokens": 4000,
            "cache_write_tokens": 500,
            "cache_write_1h_tokens": 200,
            "output_tokens": 30,
        },
        "anthropic",
        "claude-sonnet-4-5",
    ).usage
    assert (usage.uncached_input_tokens, usage.cache_write_5m_tokens) == (500, 300)
    with pytest.raises(PayloadError, match="exceed total input"):
        normalise_payload({"input_tokens": 10, "cache_read_tokens": 11})


def test_openrouter_responses_cost_is_kept_for_reconciliation() -> None:
    # simonw/llm-openrouter recorded this gpt-5-nano Responses stream through OpenRouter; its
    # response.completed event reports usage.cost 8.6e-06 (what OpenRouter charged).
    path = "tests/corpus/openrouter/or-responses-stream-gpt5-nano.json"
    case = json.loads(Path(__file__).resolve().parents[1].joinpath(path).read_text())
    result = normalise_payload(case["payload"])
    assert (result.provider, result.reported_cost) == ("openrouter", Decimal("0.0000086"))
    # Another gateway's `cost` object is not a charge: the counts are read, the cost left out.
    body = {
        "id": "resp_1",
        "object": "response",
        "model": "gpt-4.1-mini",
        "usage": {"input_tokens": 10, "output_tokens": 5, "cost": {"total_cost": 1}},
    }
    assert normalise_payload(body).reported_cost is None
