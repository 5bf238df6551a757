"""Spans of one call from two instrumentors (the Anthropic SDK's own tracing beside traceloop's,
say) carry the same response id: one record, with the most complete usage of them all.

Instrumentors differ in how much of the response they read, and some misread it (traceloop
adds `message_start`'s output token to the final count of an Anthropic stream). So the report
that says the most (the most usage attributes) is the record, and what it left out (a zero
count, an absent field) is filled from the other, where the result is still one request's
usage (reads and writes within the input).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from billing.usage import TOKEN_FIELDS, InvalidUsage, Usage, steps_from_json
from ingest.fields import is_object
from ingest.record import UsageRecord

# The source whose duplicates are merged: spans of one call from several instrumentors. Other
# sources' duplicates are retries of one report, which stay first-wins.
MERGED_SOURCES = frozenset(("otlp",))


def merge_usage(base: Usage, other: Usage) -> Usage:
    """`base` with the counts it left at zero taken from `other`, where that stays valid."""
    try:
        return Usage(**{n: getattr(base, n) or getattr(other, n) for n in TOKEN_FIELDS})
    except InvalidUsage:
        return base


def completeness(raw: Any) -> int:
    """How much a report says of its usage: its usage and token attributes."""
    if not is_object(raw):
        return 0
    return sum(1 for key in raw if isinstance(key, str) and ("usage" in key or "token" in key))


def usage_of(row: Mapping[str, Any]) -> Usage:
    """The usage of a stored event row."""
    return Usage(**{n: int(row[n]) for n in TOKEN_FIELDS})


def merged_record(stored: Mapping[str, Any], later: UsageRecord) -> UsageRecord | None:
    """The stored event (as a row) completed by a later report of the same call, as a record to
    price and store in its place; None when the later report adds nothing."""
    fuller = completeness(later.raw) > completeness(stored.get("raw"))
    if fuller:
        usage = merge_usage(later.usage, usage_of(stored))
    else:
        usage = merge_usage(usage_of(stored), later.usage)
    steps = steps_from_json(stored.get("steps")) or later.steps
    fills: dict[str, Any] = {
        "ttft_ms": later.ttft_ms,
        "latency_ms": later.latency_ms,
        "model": later.model,
        "reported_model": later.reported_model,
        "app": later.app,
        "team": later.team,
        "environment": later.environment,
        "prompt_cache_key": later.prompt_cache_key,
        "prefix_hash": later.prefix_hash,
        "reported_cost": later.reported_cost,
        "service_tier": later.service_tier,
        "inference_geo": later.inference_geo,
        "speed": later.speed,
    }
    kept: dict[str, Any] = {name: stored.get(name) for name in fills}
    filled: dict[str, Any] = {
        name: kept[name] if kept[name] is not None else fills[name] for name in fills
    }
    tools = stored.get("tool_requests") or dict(later.tool_requests)
    if (
        usage == usage_of(stored)
        and filled == kept
        and tools == (stored.get("tool_requests") or {})
        and steps == steps_from_json(stored.get("steps"))
    ):
        return None
    provider = stored.get("provider") or later.provider
    return replace(
        later,
        usage=usage,
        provider=provider,
        shape=stored.get("shape") or later.shape,
        occurred_at=stored["occurred_at"],
        tool_requests=tools,
        steps=steps,
        # The raw payload of the report that said the most.
        raw=later.raw if fuller else stored.get("raw"),
        tags=stored.get("tags") or later.tags,
        end_user=stored.get("end_user") or later.end_user,
        **filled,
    )
