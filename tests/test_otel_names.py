"""GenAI span attributes under their current and past names, and each instrumentor's reading of
the input count (the OTLP receiver adds the span's scope and the resource's SDK name)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ingest.detect import normalise_payload
from ingest.errors import PayloadError


def _counts(attributes: dict[str, Any]) -> tuple[int, ...]:
    u = normalise_payload(attributes).usage
    return (
        u.input_tokens,
        u.cache_read_tokens,
        u.cache_write_tokens,
        u.cache_write_1h_tokens,
        u.output_tokens,
        u.reasoning_tokens,
    )


ANTHROPIC = {"gen_ai.provider.name": "anthropic", "gen_ai.response.model": "claude-sonnet-4-5"}


@pytest.mark.parametrize(
    "write_name",
    [
        "gen_ai.usage.cache_write.input_tokens",  # current semconv
        "gen_ai.usage.cache_creation.input_tokens",  # its earlier name (traceloop)
        "gen_ai.usage.cache_creation_input_tokens",  # older openllmetry
        "gen_ai.usage.input_tokens.cache_write",  # Sentry
    ],
)
def test_every_name_of_the_cache_write(write_name: str) -> None:
    span = {**ANTHROPIC, "gen_ai.usage.input_tokens": 1521, write_name: 1500}
    span["gen_ai.usage.output_tokens"] = 12
    assert _counts(span) == (1521, 0, 1500, 0, 12, 0)


def test_the_anthropic_sdk_split_and_compaction() -> None:
    span = {
        **ANTHROPIC,
        "gen_ai.usage.input_tokens": 5521,
        "gen_ai.usage.cache_read.input_tokens": 4000,
        "anthropic.usage.cache_creation.ephemeral_5m_input_tokens": 500,
        "anthropic.usage.cache_creation.ephemeral_1h_input_tokens": 1000,
        "gen_ai.usage.output_tokens": 30,
        # The compaction step the top-level counts leave out.
        "anthropic.usage.compaction.input_tokens": 99_195,
        "anthropic.usage.compaction.output_tokens": 81,
    }
    # No write total: it is the split's sum.
    assert _counts(span) == (5521 + 99_195, 4000, 1500, 1000, 30 + 81, 0)


def test_an_anthropic_span_whose_cache_exceeds_its_input_is_exclusive() -> None:
    span = {
        **ANTHROPIC,
        "gen_ai.usage.input_tokens": 21,  # Anthropic's raw input_tokens, as it came
        "gen_ai.usage.cache_read.input_tokens": 4096,
        "gen_ai.usage.output_tokens": 12,
    }
    assert _counts(span) == (21 + 4096, 4096, 0, 0, 12, 0)


def test_openlit_spans_of_anthropic_are_exclusive_even_when_they_fit() -> None:
    span = {
        **ANTHROPIC,
        "gen_ai.system": "anthropic",
        "gen_ai.usage.input_tokens": 3000,
        "gen_ai.usage.cache_creation.input_tokens": 1500,
        "gen_ai.usage.output_tokens": 12,
        "telemetry.sdk.name": "openlit",
    }
    assert _counts(span) == (4500, 0, 1500, 0, 12, 0)
    # The same numbers from the Anthropic SDK's own tracing are inclusive.
    native = {**span, "telemetry.sdk.name": "opentelemetry", "otel.scope.name": "com.anthropic"}
    assert _counts(native) == (3000, 0, 1500, 0, 12, 0)


def test_an_openai_span_whose_cache_exceeds_its_input_is_invalid() -> None:
    span = {
        "gen_ai.system": "openai",
        "gen_ai.usage.input_tokens": 100,
        "gen_ai.usage.cache_read.input_tokens": 500,
    }
    with pytest.raises(PayloadError, match="exceed total input"):
        normalise_payload(span)


def test_xai_sdk_spans_put_reasoning_beside_output() -> None:
    span = {
        "gen_ai.system": "xai",
        "gen_ai.usage.input_tokens": 4211,
        "gen_ai.usage.cached_prompt_text_tokens": 4032,
        "gen_ai.usage.output_tokens": 57,
        "gen_ai.usage.reasoning_tokens": 310,
    }
    assert _counts(span) == (4211, 4032, 0, 0, 367, 310)


def test_langfuse_usage_details_in_its_own_keys_and_as_a_provider_object() -> None:
    own = {
        "langfuse.observation.model.name": "claude-sonnet-4-5",
        "langfuse.observation.usage_details": json.dumps(
            {"input": 21, "input_cached_tokens": 4096, "output": 12, "output_reasoning": 3}
        ),
        "langfuse.observation.cost_details": json.dumps({"total": 0.5}),
    }
    # Langfuse's `input` leaves the cache out; every input* key is a part of the input.
    assert _counts(own) == (4117, 4096, 0, 0, 15, 3)
    openai = {
        "langfuse.observation.model.name": "gpt-4o",
        "langfuse.observation.usage_details": json.dumps(
            {
                "prompt_tokens": 3000,
                "completion_tokens": 20,
                "prompt_tokens_details": {"cached_tokens": 2048},
            }
        ),
    }
    result = normalise_payload(openai)
    assert (result.usage.input_tokens, result.usage.cache_read_tokens) == (3000, 2048)
    assert result.provider == "openai"
    bad = {**own, "langfuse.observation.usage_details": "[1, 2]"}
    with pytest.raises(PayloadError, match=r"langfuse\.observation\.usage_details: must be a JSON"):
        normalise_payload(bad)


@pytest.mark.parametrize(
    "details",
    [
        "[" * 100_000,  # the standard json module recursed until RecursionError
        '{"input": NaN}',
        '{"input": 1e400}',
        '{"input": 1, "model": "\\ud800"}',  # a lone surrogate, which no text column holds
        "{",
    ],
)
def test_langfuse_usage_details_are_read_strictly(details: str) -> None:
    span = {
        "langfuse.observation.model.name": "claude-sonnet-4-5",
        "langfuse.observation.usage_details": details,
    }
    with pytest.raises(PayloadError, match=r"langfuse\.observation\.usage_details: must be a JSON"):
        normalise_payload(span)
