"""OpenAI Chat Completions and the many APIs that copy its shape.

Reads `usage.prompt_tokens` (INCLUDES cached tokens), `prompt_tokens_details.cached_tokens`,
`prompt_tokens_details.cache_write_tokens` (newer models, no TTL), `completion_tokens`
(reasoning inside) and `completion_tokens_details.reasoning_tokens`. Provider variants
(DeepSeek, Moonshot, Stepfun, xAI, …) differ only in where the cached count sits, whether
reasoning is inside the completion count (where `total_tokens` does not settle it), and whether
a charge is reported; each lives in its
own module and passes a `ChatVariant`. An unknown OpenAI-compatible provider is read with
every known alias (`GENERIC`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ingest.errors import PayloadError
from ingest.fields import Path, count, dig, mapping, money, same_tokens, text
from ingest.shapes.base import Normalised, make_usage

CACHED = ("prompt_tokens_details", "cached_tokens")
WRITTEN = ("prompt_tokens_details", "cache_write_tokens")


@dataclass(frozen=True, slots=True)
class ChatVariant:
    """How one OpenAI-compatible provider fills the usage object."""

    cached: tuple[Path, ...] = (CACHED,)
    written: tuple[Path, ...] = (WRITTEN,)
    written_1h: tuple[Path, ...] = ()
    reasoning_inside: bool = True
    cost: Path | None = None
    body_cost: tuple[Path, ...] = ()  # a charge reported beside the usage object
    shape: str | None = None  # a name of its own where the shape differs from OpenAI's


OPENAI = ChatVariant()

GENERIC = ChatVariant(
    cached=(
        CACHED,
        ("prompt_token_details", "cached_tokens"),
        ("cached_tokens",),
        ("num_cached_tokens",),
        ("prompt_cache_hit_tokens",),
        ("cache_read_input_tokens",),
    ),
    written=(
        WRITTEN,
        ("prompt_tokens_details", "cache_creation_tokens"),
        ("prompt_tokens_details", "cache_creation_input_tokens"),
        ("cache_creation_input_tokens",),
    ),
    written_1h=(
        ("prompt_tokens_details", "cache_creation_token_details", "ephemeral_1h_input_tokens"),
    ),
)


def _reasoning_inside(
    usage: Mapping[str, Any],
    prompt: int | None,
    completion: int | None,
    reasoning: int,
    variant: ChatVariant,
) -> bool:
    """Whether the reasoning count is part of `completion_tokens`.

    The payload's own arithmetic decides where it can: `total_tokens` equal to prompt +
    completion + reasoning (and not to prompt + completion) puts reasoning beside completion,
    as does reasoning larger than completion; a total of prompt + completion puts it inside.
    So a model that reports xAI's way keeps its meaning when a cloud serves it in OpenAI's
    shape. Otherwise the provider's documented rule holds.
    """
    if completion is not None and reasoning > completion:
        return False
    # Only a witness here: a total that is not a count is not an error in the payload's counts.
    total = usage.get("total_tokens")
    counted = isinstance(total, int) and not isinstance(total, bool)
    if counted and prompt is not None and completion is not None:
        if total == prompt + completion:
            return True
        if total == prompt + completion + reasoning:
            return False
    return variant.reasoning_inside


def read_usage(usage: Mapping[str, Any], variant: ChatVariant, prefix: str = "usage") -> Normalised:
    """Canonical counts from one OpenAI-shaped usage object."""
    prompt = count(usage, ("prompt_tokens",), f"{prefix}.prompt_tokens")
    completion = count(usage, ("completion_tokens",), f"{prefix}.completion_tokens")
    reasoning = same_tokens(usage, (("completion_tokens_details", "reasoning_tokens"),), prefix)
    output = completion
    if reasoning and not _reasoning_inside(usage, prompt, completion, reasoning, variant):
        output = (completion or 0) + reasoning
    return Normalised(
        shape=variant.shape or "openai.chat",
        usage=make_usage(
            f"{prefix}.prompt_tokens",
            input_tokens=prompt,
            cache_read=same_tokens(usage, variant.cached, prefix),
            cache_write=same_tokens(usage, variant.written, prefix),
            cache_write_1h=same_tokens(usage, variant.written_1h, prefix),
            output=output,
            reasoning=reasoning,
        ),
        reported_cost=money(usage, variant.cost, f"{prefix}.{'.'.join(variant.cost)}")
        if variant.cost
        else None,
    )


def normalise(payload: Mapping[str, Any], variant: ChatVariant = OPENAI) -> Normalised:
    """A chat completion, a final stream chunk, or a bare usage object."""
    if "prompt_tokens" in payload or "completion_tokens" in payload:
        usage: Mapping[str, Any] = payload
        body: Mapping[str, Any] = {}
        prefix = "usage"
    else:
        found = mapping(payload, ("usage",), "usage")
        if found is None:
            raise PayloadError("usage", "missing: this chat payload carries no usage object")
        usage, body, prefix = found, payload, "usage"
    result = read_usage(usage, variant, prefix)
    shape = result.shape
    if variant.shape is None and dig(body, ("object",)) == "chat.completion.chunk":
        shape = "openai.chat.chunk"
    reported = result.reported_cost
    for path in variant.body_cost:
        if reported is None:
            reported = money(body, path, ".".join(path))
    return Normalised(
        shape=shape,
        usage=result.usage,
        model=text(body, ("model",)),
        response_id=text(body, ("id",)),
        reported_cost=reported,
        service_tier=text(body, ("service_tier",), 32),
    )
