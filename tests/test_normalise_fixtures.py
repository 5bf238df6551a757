"""Every provider fixture (tests/fixtures/usage) normalises to its hand-computed expected
values, shape and provider."""

from __future__ import annotations

from typing import Any

import pytest

from billing.aliases import canonical_provider
from ingest.detect import normalise_payload
from tests.usage_fixtures import load_fixtures

FIXTURES = load_fixtures(include_otel=True)


def _counts(payload: Any, provider: str | None, model: str | None) -> dict[str, int]:
    usage = normalise_payload(payload, provider, model).usage
    return {
        "input_tokens": usage.input_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "cache_write_1h_tokens": usage.cache_write_1h_tokens,
        "output_tokens": usage.output_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
    }


def test_fixture_set_covers_every_required_shape() -> None:
    shapes = {f["shape"] for f in FIXTURES}
    assert {
        "openai.chat",
        "openai.chat.chunk",
        "openai.responses",
        "openai.responses.event",
        "anthropic.messages",
        "anthropic.messages.events",
        "bedrock.converse",
        "gemini.generate_content",
        "deepseek.chat",
        "stepfun.chat",
        "groq.chat.chunk",
        "litellm.usage",
        "otel.genai",
    } <= shapes


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f["name"] for f in FIXTURES])
def test_fixture_with_provider_hint(fixture: dict[str, Any]) -> None:
    result = normalise_payload(fixture["payload"], fixture["provider"], fixture["model"])
    assert _counts(fixture["payload"], fixture["provider"], fixture["model"]) == fixture["expected"]
    assert result.shape == fixture["shape"]
    assert result.provider == canonical_provider(fixture["provider"])
    assert result.model == fixture["model"]


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f["name"] for f in FIXTURES])
def test_fixture_detected_without_hint(fixture: dict[str, Any]) -> None:
    assert _counts(fixture["payload"], None, None) == fixture["expected"]
    assert normalise_payload(fixture["payload"]).shape == fixture["shape"]


@pytest.mark.parametrize(
    "fixture",
    [f for f in FIXTURES if isinstance(f["payload"], dict) and "usage" in f["payload"]],
    ids=lambda f: f["name"],
)
def test_bare_usage_object_reads_like_the_whole_body(fixture: dict[str, Any]) -> None:
    bare = fixture["payload"]["usage"]
    assert _counts(bare, fixture["provider"], fixture["model"]) == fixture["expected"]


@pytest.mark.parametrize(
    ("name", "provider"),
    [
        ("anthropic-messages", "anthropic"),
        ("bedrock-converse", "aws"),
        ("deepseek-chat", "deepseek"),
        ("gemini-generate-content", "google"),
        ("groq-stream-final-chunk", "groq"),
        ("moonshot-kimi", "moonshotai"),
        ("openai-chat", "openai"),
        ("openai-responses", "openai"),
        ("openrouter", "openrouter"),
        ("stepfun", "stepfun"),
        ("xai-grok", "x-ai"),
        ("mistral", "mistral"),
    ],
)
def test_provider_inferred_from_payload(name: str, provider: str) -> None:
    fixture = next(f for f in FIXTURES if f["name"] == name)
    assert normalise_payload(fixture["payload"]).provider == provider
