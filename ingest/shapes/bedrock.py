"""Amazon Bedrock Converse: response, or the stream's `metadata` event.

`usage.inputTokens` EXCLUDES cache reads and writes (SEPARATE): total input =
`inputTokens + cacheReadInputTokens + cacheWriteInputTokens`. Writes split by TTL in
`usage.cacheDetails[].{ttl, inputTokens}`; entries without "1h" count as 5-minute.
`metrics.latencyMs` is the total latency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ingest.errors import PayloadError
from ingest.fields import count, dig, mapping, text
from ingest.shapes.base import Normalised, make_usage


def _one_hour_writes(details: Any, prefix: str) -> int | None:
    if details is None:
        return None
    if not isinstance(details, Sequence) or isinstance(details, str):
        raise PayloadError(f"{prefix}.cacheDetails", "must be a list")
    total = 0
    for i, item in enumerate(details):
        tokens = count(item, ("inputTokens",), f"{prefix}.cacheDetails[{i}].inputTokens") or 0
        if str(dig(item, ("ttl",)) or "").lower() in ("1h", "60m", "3600s"):
            total += tokens
    return total


def normalise(payload: Mapping[str, Any]) -> Normalised:
    """A Converse response, a stream `metadata` event, or a bare usage object."""
    body, where = payload, ""
    event = mapping(payload, ("metadata",), "metadata")
    if event is not None:
        body, where = event, "metadata."
    if "inputTokens" in body:
        usage, prefix = body, "usage"
    else:
        prefix = f"{where}usage"
        found = mapping(body, ("usage",), prefix)
        if found is None:
            raise PayloadError(prefix, "missing: this Converse payload carries no usage object")
        usage = found
    plain = count(usage, ("inputTokens",), f"{prefix}.inputTokens")
    if plain is None:
        raise PayloadError(f"{prefix}.inputTokens", "missing")
    read = count(usage, ("cacheReadInputTokens",), f"{prefix}.cacheReadInputTokens") or 0
    written = count(usage, ("cacheWriteInputTokens",), f"{prefix}.cacheWriteInputTokens") or 0
    latency = count(body, ("metrics", "latencyMs"), f"{where}metrics.latencyMs")
    return Normalised(
        shape="bedrock.converse",
        usage=make_usage(
            prefix,
            input_tokens=plain + read + written,
            cache_read=read,
            cache_write=written,
            cache_write_1h=_one_hour_writes(dig(usage, ("cacheDetails",)), prefix),
            output=count(usage, ("outputTokens",), f"{prefix}.outputTokens"),
        ),
        response_id=text(payload, ("ResponseMetadata", "RequestId")),
        provider="aws",
        latency_ms=float(latency) if latency is not None else None,
    )
