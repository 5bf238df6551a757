"""Perplexity Sonar chat: OpenAI-shaped, with counts of its own beside the tokens.

`usage.prompt_tokens` and `completion_tokens` as OpenAI's. Sonar Deep Research also reports
`reasoning_tokens` (top level) and `citation_tokens`, each billed on a line of its own and
outside `total_tokens` (= prompt + completion), and `num_search_queries` (billed per 1,000).
So billed output = completion + reasoning. `usage.cost` is Perplexity's own breakdown of the
charge (`total_cost` in USD): kept for reconciliation. Search queries and citation tokens are
kept as quantities billed beside the tokens (with the server-tool uses), so their fees are
charged, or the request is left unpriced with the reason. Sonar's request fee depends on
`search_context_size` (low, medium, high): it is kept as the request's service terms
(`search_context:low`), so only a fee known for that size is charged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingest.errors import PayloadError
from ingest.fields import count, dig, is_object, mapping, money, text
from ingest.shapes.base import Normalised, make_usage

_MARKS = ("citation_tokens", "num_search_queries", "search_context_size")


def is_usage(usage: Mapping[str, Any]) -> bool:
    """True for a usage object only Perplexity writes (its extra counts or its cost breakdown)."""
    cost = usage.get("cost")
    return any(k in usage for k in _MARKS) or (
        is_object(cost) and "total_cost" in cost and "request_cost" in cost
    )


def normalise(payload: Mapping[str, Any]) -> Normalised:
    """A Sonar completion, its last stream chunk, or its usage object."""
    body: Mapping[str, Any] = {}
    usage: Mapping[str, Any] = payload
    if "prompt_tokens" not in payload:
        found = mapping(payload, ("usage",), "usage")
        if found is None:
            raise PayloadError("usage", "missing: this Perplexity payload carries no usage")
        usage, body = found, payload
    completion = count(usage, ("completion_tokens",), "usage.completion_tokens") or 0
    reasoning = count(usage, ("reasoning_tokens",), "usage.reasoning_tokens") or 0
    extra = {
        "web_search": count(usage, ("num_search_queries",), "usage.num_search_queries"),
        "citation_tokens": count(usage, ("citation_tokens",), "usage.citation_tokens"),
    }
    cost = dig(usage, ("cost",))
    size = text(usage, ("search_context_size",), 16)
    return Normalised(
        shape="perplexity.chat",
        usage=make_usage(
            "usage.prompt_tokens",
            input_tokens=count(usage, ("prompt_tokens",), "usage.prompt_tokens"),
            output=completion + reasoning,
            reasoning=reasoning,
        ),
        model=text(body, ("model",)),
        response_id=text(body, ("id",)),
        provider="perplexity",
        reported_cost=money(cost, ("total_cost",), "usage.cost.total_cost")
        if is_object(cost)
        else None,
        tool_requests={name: n for name, n in extra.items() if n},
        service_tier=f"search_context:{size.lower()}" if size else None,
    )
