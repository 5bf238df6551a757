"""What every shape normaliser returns: canonical counts plus what the payload says of itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from billing.usage import InvalidUsage, Step, Usage
from ingest.errors import PayloadError


@dataclass(frozen=True, slots=True)
class Normalised:
    """A payload read into canonical form; `provider` is what the payload itself implies."""

    shape: str
    usage: Usage
    model: str | None = None
    response_id: str | None = None
    provider: str | None = None
    reported_cost: Decimal | None = None
    latency_ms: float | None = None
    # The service tier the provider says it served the request at (batch, flex, priority, …).
    service_tier: str | None = None
    # Where inference ran, when the provider says (Anthropic `usage.inference_geo`).
    inference_geo: str | None = None
    # The inference speed the provider ran it at (Anthropic `usage.speed`: fast is premium).
    speed: str | None = None
    # Server-side tools used, by tool: times (Anthropic `usage.server_tool_use`).
    tool_requests: Mapping[str, int] = field(default_factory=dict)
    # The sampling steps `usage` sums, where the payload lists them (Anthropic
    # `usage.iterations`): the model each ran on (None: the request's own) and its usage.
    steps: tuple[Step, ...] = ()
    # The provider's own diagnosis of a cache miss (Anthropic `diagnostics`, OpenAI
    # `prompt_cache_diagnostics`): what changed since the compared request, and about how many
    # input tokens would otherwise have been read from cache.
    cache_miss_reason: str | None = None
    cache_missed_tokens: int | None = None


def make_usage(
    prefix: str,
    *,
    input_tokens: int | None,
    cache_read: int | None = None,
    cache_write: int | None = None,
    cache_write_1h: int | None = None,
    output: int | None = None,
    reasoning: int | None = None,
) -> Usage:
    """Build a Usage, turning invariant breaks into errors that name the payload's field."""
    if input_tokens is None:
        raise PayloadError(prefix, "no input token count found")
    try:
        return Usage(
            input_tokens=input_tokens,
            cache_read_tokens=cache_read or 0,
            cache_write_tokens=cache_write or 0,
            cache_write_1h_tokens=cache_write_1h or 0,
            output_tokens=output or 0,
            reasoning_tokens=reasoning or 0,
        )
    except InvalidUsage as exc:
        raise PayloadError(prefix, exc.reason) from None
