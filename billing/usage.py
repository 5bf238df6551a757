"""The token buckets of one LLM request: what a price applies to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

# No single request comes near this; beyond it a count is corrupt, and sums must fit BIGINT.
MAX_TOKENS = 1_000_000_000


class InvalidUsage(ValueError):
    """Token counts that break an invariant; `field` names the offending count."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Usage:
    """Canonical token counts.

    `input_tokens` is ALL prompt tokens processed, cached or not; cache reads and writes are
    parts of it. `cache_write_1h_tokens` is the part of `cache_write_tokens` written with a
    one-hour TTL. `reasoning_tokens` is informational: it is already inside `output_tokens`.
    """

    input_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0

    def __post_init__(self) -> None:
        counts = (
            self.input_tokens,
            self.cache_read_tokens,
            self.cache_write_tokens,
            self.cache_write_1h_tokens,
            self.output_tokens,
            self.reasoning_tokens,
        )
        # Every record makes one: all six exact ints in range is the common case, checked in
        # three steps; otherwise each field is checked for the error that names it.
        if {type(v) for v in counts} != {int} or min(counts) < 0 or max(counts) > MAX_TOKENS:
            self._check_each()
        if self.cache_read_tokens + self.cache_write_tokens > self.input_tokens:
            raise InvalidUsage(
                "cache_read_tokens",
                f"cache read ({self.cache_read_tokens}) + cache write ({self.cache_write_tokens})"
                f" exceed total input ({self.input_tokens})",
            )
        if self.cache_write_1h_tokens > self.cache_write_tokens:
            raise InvalidUsage(
                "cache_write_1h_tokens",
                f"1-hour writes ({self.cache_write_1h_tokens}) exceed all cache writes"
                f" ({self.cache_write_tokens})",
            )

    def _check_each(self) -> None:
        for name in TOKEN_FIELDS:
            value = getattr(self, name)
            # bool is an int subclass; True as a token count is a sender bug, not 1 token.
            if not isinstance(value, int) or isinstance(value, bool):
                raise InvalidUsage(name, f"must be an integer, got {value!r}")
            if value < 0:
                raise InvalidUsage(name, f"must not be negative, got {value}")
            if value > MAX_TOKENS:
                raise InvalidUsage(name, f"must be at most {MAX_TOKENS:,}, got {value:,}")

    @property
    def uncached_input_tokens(self) -> int:
        """Input tokens billed at the plain input rate."""
        return self.input_tokens - self.cache_read_tokens - self.cache_write_tokens

    @property
    def cache_write_5m_tokens(self) -> int:
        """Cache writes with the short (5-minute or provider default) TTL."""
        return self.cache_write_tokens - self.cache_write_1h_tokens


# The canonical token names, in order: the fields of Usage, the push API's canonical usage
# object, the CSV import's columns and the event table's columns.
TOKEN_FIELDS = tuple(f.name for f in fields(Usage))


# One sampling step of a request that reports them (Anthropic `usage.iterations`): the model it
# ran on (None: the request's own) and its usage.
Step = tuple[str | None, Usage]


def steps_json(steps: Sequence[Step]) -> list[dict[str, Any]] | None:
    """Steps as stored (JSON): each its model and token counts; None for a request without."""
    if not steps:
        return None
    return [{"model": model, **{n: getattr(u, n) for n in TOKEN_FIELDS}} for model, u in steps]


def steps_from_json(rows: Sequence[Mapping[str, Any]] | None) -> tuple[Step, ...]:
    """Stored steps back as (model, Usage) pairs."""
    return tuple(
        (row.get("model"), Usage(**{n: int(row.get(n, 0)) for n in TOKEN_FIELDS}))
        for row in rows or ()
    )
