"""Why a request read nothing from the cache, where one request alone can tell."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from billing.usage import Usage

# Minimum cacheable prompt lengths (tokens), from the providers' documentation.
_ANTHROPIC_MINIMUM = (
    ("claude-opus-4-5", 4096),
    ("claude-opus-4-6", 4096),
    ("claude-opus-4-7", 4096),
    ("claude-opus-4-8", 4096),
    ("claude-opus-5", 4096),
    ("claude-haiku-4-5", 4096),
    ("claude-haiku-5", 4096),
    ("claude-3-5-haiku", 2048),
    ("claude-3-haiku", 2048),
)
_PROVIDER_MINIMUM = {
    "openai": 1024,
    "azure": 1024,
    "google": 1024,
    "x-ai": 1024,
    "deepseek": 1024,
    "anthropic": 1024,
    "aws": 1024,
    "stepfun": 256,
    "venice": 1024,
}

BELOW_MINIMUM = "below_minimum_length"
FIRST_WRITE = "first_write"


def minimum_cacheable(provider: str, model: str | None) -> int | None:
    """The shortest prompt the provider caches for this model, if known."""
    name = (model or "").lower()
    if provider in ("anthropic", "aws", "venice", "openrouter") or "claude" in name:
        for prefix, minimum in _ANTHROPIC_MINIMUM:
            if prefix in name:
                return minimum
        if "claude" in name:
            return 1024
    return _PROVIDER_MINIMUM.get(provider)


def miss_hint(provider: str, model: str | None, usage: Usage) -> str | None:
    """A reason for a request with no cache read, or None (a hit, or no inferable reason).

    Reasons needing history (prefix changed, TTL expired) are found over stored events.
    """
    if usage.cache_read_tokens > 0:
        return None
    minimum = minimum_cacheable(provider, model)
    if minimum is not None and usage.input_tokens < minimum:
        return BELOW_MINIMUM
    if usage.cache_write_tokens > 0:
        return FIRST_WRITE
    return None


PREFIX_CHANGED = "prefix_changed"
TTL_EXPIRED = "ttl_expired"
# Provider diagnoses that made no comparison (and so say nothing of a change).
NOT_COMPARED = ("previous_message_not_found", "comparison_response_not_found", "unavailable")


# The miss hint of a provider-diagnosed change: a prefix change (no history overrides it).
DIAGNOSED = PREFIX_CHANGED


def diagnosed_change(usage: Usage, provider_reason: str | None) -> bool:
    """Whether the provider itself diagnosed this miss as a change since the compared request
    (model, system, tools, messages, input … changed): the cached prefix could not be reused,
    which the miss causes count as a prefix change, whatever the history suggests."""
    return (
        usage.cache_read_tokens == 0
        and provider_reason is not None
        and provider_reason not in NOT_COMPARED
    )


# How long a provider likely keeps an unused prefix (seconds); an idle gap longer than this
# before a miss points at expiry. Documented defaults, not guarantees.
LIKELY_TTL_SECONDS = {
    "anthropic": 300,
    "aws": 300,
    "venice": 300,
    "openrouter": 300,
    "openai": 600,
    "azure": 600,
    "x-ai": 600,
    "mistral": 300,
    "moonshotai": 300,
    "stepfun": 300,
    "google": 3600,
    "deepseek": 3600,
    "groq": 7200,
}
ONE_HOUR = 3600


HistoryKey = tuple[str, str]  # (app, cache key); "" where absent


@dataclass(frozen=True, slots=True)
class PrefixSeen:
    """The last request seen for one (app, cache key)."""

    prefix_hash: str | None
    at: datetime


def history_key(row: Mapping[str, Any]) -> HistoryKey | None:
    """Whose previous request explains an event row's miss: its (app, cache key), where it
    names a cache key or a prefix. Not keyed by the prefix hash, so that a new prefix under
    the same key shows as a change."""
    if row.get("prompt_cache_key") is None and row.get("prefix_hash") is None:
        return None
    return (row.get("app") or "", row.get("prompt_cache_key") or "")


def history_hint(
    provider: str,
    prefix_hash: str | None,
    at: datetime,
    previous: PrefixSeen | None,
    one_hour: bool,
) -> str | None:
    """A miss explained by the previous request of the same key: a new prefix, or a long gap."""
    if previous is None:
        return None
    if prefix_hash and previous.prefix_hash and prefix_hash != previous.prefix_hash:
        return PREFIX_CHANGED
    ttl = ONE_HOUR if one_hour else LIKELY_TTL_SECONDS.get(provider, 300)
    if (at - previous.at).total_seconds() > ttl:
        return TTL_EXPIRED
    return None


def combine(own: str | None, history: str | None) -> str | None:
    """One reason: too short beats everything; history explains a miss better than 'first write'."""
    if own == BELOW_MINIMUM:
        return own
    return history or own


def explain_with_history(
    rows: Sequence[Mapping[str, Any]], seen: Mapping[HistoryKey, PrefixSeen]
) -> tuple[dict[int, str | None], dict[HistoryKey, PrefixSeen]]:
    """Refine the miss hints of new event rows (which carry their `id`) with each key's
    previous request (prefix changed, TTL expired), in time order, from `seen` (each key's
    latest request before them). Returns the hints that changed, by event id, and the keys'
    latest requests where the rows moved them (never backwards: a late arrival does not)."""
    latest = dict(seen)
    moved: dict[HistoryKey, PrefixSeen] = {}
    hints: dict[int, str | None] = {}
    for row in sorted(rows, key=lambda r: r["occurred_at"]):
        key = history_key(row)
        if key is None:
            continue
        previous = latest.get(key)
        at, prefix_hash = row["occurred_at"], row.get("prefix_hash")
        diagnosed = row.get("provider_miss_reason") not in (None, *NOT_COMPARED)
        if row["cache_read_tokens"] == 0 and not diagnosed:
            history = history_hint(
                row["provider"], prefix_hash, at, previous, row["cache_write_1h_tokens"] > 0
            )
            hint = combine(row.get("miss_hint"), history)
            if hint != row.get("miss_hint"):
                hints[row["id"]] = hint
        if previous is None or at >= previous.at:
            # A request without a prefix hash keeps the key's last known one.
            latest[key] = moved[key] = PrefixSeen(
                prefix_hash or (previous.prefix_hash if previous else None), at
            )
    return hints, moved
