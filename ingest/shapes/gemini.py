"""Gemini / Vertex generateContent: response, stream chunks, or `usageMetadata` alone.

`promptTokenCount` (+ `toolUsePromptTokenCount`) INCLUDES `cachedContentTokenCount`.
`thoughtsTokenCount` is NOT inside `candidatesTokenCount`: billed output = candidates +
thoughts. No per-request cache writes (explicit caches bill storage instead). Stream chunks
carry CUMULATIVE usage: the last one wins. The Python SDK's `model_dump()` spells every field
in snake_case (`usage_metadata.prompt_token_count`); both spellings are read.

Vertex AI's `usageMetadata.trafficType` says how the request was served and so billed
(`ON_DEMAND`; `PROVISIONED_THROUGHPUT`, paid for up front; priority and flex at their own
rates): it is the request's service tier.

Grounding with Google Search is billed beside the tokens: per search query on Gemini 3 models
(each of a candidate's `groundingMetadata.webSearchQueries`), per grounded prompt on earlier
ones (one per request that searched).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ingest.errors import PayloadError
from ingest.fields import count, is_object, text
from ingest.shapes.base import Normalised, make_usage


def _get(obj: Mapping[str, Any], camel: str, snake: str, prefix: str) -> int | None:
    value = count(obj, (camel,), f"{prefix}.{camel}")
    return value if value is not None else count(obj, (snake,), f"{prefix}.{snake}")


_USAGE_NAMES = frozenset(
    ("promptTokenCount", "prompt_token_count", "totalTokenCount", "total_token_count")
)


def is_usage(obj: Mapping[str, Any]) -> bool:
    """True for a bare usageMetadata object in either spelling."""
    # Shape detection asks this of every pushed payload: one set operation, not a scan.
    return not _USAGE_NAMES.isdisjoint(obj.keys())


def normalise(payload: Mapping[str, Any]) -> Normalised:
    """One response or chunk, or a bare usage metadata object."""
    if is_usage(payload):
        usage, prefix = payload, "usageMetadata"
    else:
        prefix = "usageMetadata" if payload.get("usageMetadata") is not None else "usage_metadata"
        found = payload.get(prefix)
        if not is_object(found):
            raise PayloadError("usageMetadata", "missing: this Gemini payload carries no usage")
        usage = found
    prompt = _get(usage, "promptTokenCount", "prompt_token_count", prefix) or 0
    tool_prompt = _get(usage, "toolUsePromptTokenCount", "tool_use_prompt_token_count", prefix) or 0
    candidates = _get(usage, "candidatesTokenCount", "candidates_token_count", prefix) or 0
    thoughts = _get(usage, "thoughtsTokenCount", "thoughts_token_count", prefix) or 0
    return Normalised(
        shape="gemini.generate_content",
        usage=make_usage(
            prefix,
            input_tokens=prompt + tool_prompt,
            cache_read=_get(usage, "cachedContentTokenCount", "cached_content_token_count", prefix),
            output=candidates + thoughts,
            reasoning=thoughts,
        ),
        model=text(payload, ("modelVersion",)) or text(payload, ("model_version",)),
        response_id=text(payload, ("responseId",)) or text(payload, ("response_id",)),
        provider="google",
        service_tier=_traffic_type(usage),
        tool_requests=_searches(payload),
    )


def stream_searches(chunks: Sequence[Any]) -> dict[str, int]:
    """The searches of a stream: its chunks' grounding, whichever chunk carries it."""
    found: dict[str, int] = {}
    for chunk in chunks:
        if is_object(chunk):
            for tool, n in _searches(chunk).items():
                found[tool] = max(found.get(tool, 0), n)
    return found


def _searches(payload: Mapping[str, Any]) -> dict[str, int]:
    candidates = payload.get("candidates")
    queries = 0
    for candidate in candidates if isinstance(candidates, list) else ():
        if not is_object(candidate):
            continue
        # The REST API's camelCase, or the Python SDK's model_dump() snake_case.
        grounding = candidate.get("groundingMetadata") or candidate.get("grounding_metadata")
        if is_object(grounding):
            found = grounding.get("webSearchQueries") or grounding.get("web_search_queries")
            queries += len(found) if isinstance(found, list) else 0
    if not queries:
        return {}
    model = (text(payload, ("modelVersion",)) or text(payload, ("model_version",)) or "").lower()
    per_query = not model or not model.startswith(("gemini-1", "gemini-2"))
    return {"web_search": queries if per_query else 1}


# Vertex's TrafficType enum, for JSON that carries it by number (protobuf's integer enums).
_TRAFFIC_TYPES = {0: None, 1: "on_demand", 2: "provisioned_throughput"}


def _traffic_type(usage: Mapping[str, Any]) -> str | None:
    raw = usage.get("trafficType", usage.get("traffic_type"))
    if isinstance(raw, int) and not isinstance(raw, bool):
        # An enum number not known here is kept as such: its rates are not known either.
        return _TRAFFIC_TYPES.get(raw, f"traffic_type_{raw}")
    kind = text(usage, ("trafficType",), 64) or text(usage, ("traffic_type",), 64)
    if kind is None or kind.upper() == "TRAFFIC_TYPE_UNSPECIFIED":
        return None
    return kind.lower()
