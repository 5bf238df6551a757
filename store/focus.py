"""The FOCUS export's SQL: a month's usage and explicit-cache storage summed per charge period
(hour or day), provider, model, app, team, environment, currency, price row, region and
FX-rate period, streamed in period order (reports.focus_export makes FOCUS rows of them)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

# Sums of a group, in this order after its key columns.
TOKEN_SUMS = (
    "uncached_input_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "tool_calls",
)
COST_SUMS = (
    "cost_uncached_input",
    "cost_cache_read",
    "cost_cache_write_5m",
    "cost_cache_write_1h",
    "cost_output",
    "cost_tool_fees",
    "nocache_cost",
)
PERIODS = ("hour", "day")


def currencies(conn: Connection, tenant_id: int, start: datetime, end: datetime) -> set[str]:
    """The currencies the tenant's priced requests and caches of [start, end) are in."""
    rows = conn.execute(
        text(
            """
            SELECT DISTINCT currency FROM usage_events
            WHERE tenant_id = :tenant_id AND occurred_at >= :start AND occurred_at < :end
                AND currency IS NOT NULL
            UNION
            SELECT DISTINCT currency FROM cache_objects
            WHERE tenant_id = :tenant_id AND created_at >= :start AND created_at < :end
                AND currency IS NOT NULL
            """
        ),
        {"tenant_id": tenant_id, "start": start, "end": end},
    )
    return {r[0] for r in rows}


def _segment(column: str, breakpoints: Sequence[datetime]) -> str:
    # The FX period: how many rate changes precede the moment (bound parameters :bp0, ...).
    if not breakpoints:
        return "0"
    return " + ".join(f"({column} >= :bp{i})::int" for i in range(len(breakpoints)))


def _params(
    tenant_id: int, start: datetime, end: datetime, period: str, breakpoints: Sequence[datetime]
) -> dict[str, Any]:
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}")
    params: dict[str, Any] = {"tenant_id": tenant_id, "start": start, "end": end}
    params.update({f"bp{i}": b for i, b in enumerate(breakpoints)})
    return params


_KEYS = (
    "provider, model, app, team, environment, currency, price_source, price_id, price_ref,"
    " inference_geo"
)


def usage_groups(
    conn: Connection,
    tenant_id: int,
    start: datetime,
    end: datetime,
    period: str,
    breakpoints: Sequence[datetime],
    *,
    negotiated: bool,
) -> Iterator[Any]:
    """The events of [start, end) summed per charge period, FX period and key, in period
    order; `negotiated`: only those priced by the tenant's own prices (whose list-price layer
    is computed apart), else all the others. Rows are fetched in batches, not all at once."""
    params = _params(tenant_id, start, end, period, breakpoints)
    layer = "price_source = 'tenant'" if negotiated else "price_source IS DISTINCT FROM 'tenant'"
    # Server-side tool calls by tool ({"web_search": 3}); none is SQL NULL or JSON null.
    tool_calls = (
        "CASE WHEN jsonb_typeof(tool_requests) = 'object' THEN (SELECT coalesce(sum("
        "value::bigint), 0) FROM jsonb_each_text(tool_requests) WHERE value ~ '^[0-9]{1,15}$')"
        " ELSE 0 END"
    )
    statement = text(
        f"""
        SELECT date_trunc('{period}', occurred_at, 'UTC') AS period,
            {_segment("occurred_at", breakpoints)} AS segment, {_KEYS},
            count(*) AS requests, count(*) FILTER (WHERE cost IS NULL) AS unpriced_requests,
            sum(uncached_input_tokens) AS uncached_input_tokens,
            sum(cache_read_tokens) AS cache_read_tokens,
            sum(cache_write_tokens - cache_write_1h_tokens) AS cache_write_5m_tokens,
            sum(cache_write_1h_tokens) AS cache_write_1h_tokens,
            sum(output_tokens) AS output_tokens,
            sum({tool_calls}) AS tool_calls,
            -- The prompt cache key, when every request of the group was sent with the same one.
            CASE WHEN count(prompt_cache_key) = count(*)
                AND min(prompt_cache_key) = max(prompt_cache_key)
                THEN min(prompt_cache_key) END AS prompt_cache_key,
            {", ".join(f"coalesce(sum({c}), 0) AS {c}" for c in COST_SUMS)}
        FROM usage_events
        WHERE tenant_id = :tenant_id AND occurred_at >= :start AND occurred_at < :end
            AND {layer}
        GROUP BY 1, 2, {_KEYS}
        ORDER BY 1, 2, {_KEYS}
        """
    )
    yield from conn.execution_options(yield_per=2000).execute(statement, params)


def negotiated_events(
    conn: Connection,
    tenant_id: int,
    start: datetime,
    end: datetime,
    period: str,
    breakpoints: Sequence[datetime],
) -> Iterator[Any]:
    """The events of [start, end) priced by the tenant's own prices, one by one with their
    tokens, in the order of usage_groups(negotiated=True), so each group's events come
    together (their list-price layer is priced event by event: tiers go by request)."""
    params = _params(tenant_id, start, end, period, breakpoints)
    statement = text(
        f"""
        SELECT date_trunc('{period}', occurred_at, 'UTC') AS period,
            {_segment("occurred_at", breakpoints)} AS segment, {_KEYS}, occurred_at,
            input_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens,
            output_tokens
        FROM usage_events
        WHERE tenant_id = :tenant_id AND occurred_at >= :start AND occurred_at < :end
            AND price_source = 'tenant'
        ORDER BY 1, 2, {_KEYS}
        """
    )
    yield from conn.execution_options(yield_per=5000).execute(statement, params)


def storage_groups(
    conn: Connection,
    tenant_id: int,
    start: datetime,
    end: datetime,
    period: str,
    breakpoints: Sequence[datetime],
) -> list[Any]:
    """Explicit caches created in [start, end), summed per charge period (of creation), FX
    period, provider, model, app, team, environment, currency and price row: how many, their
    million-token-hours and storage cost (as the statement counts them: by creation)."""
    params = _params(tenant_id, start, end, period, breakpoints)
    statement = text(
        f"""
        SELECT date_trunc('{period}', created_at, 'UTC') AS period,
            {_segment("created_at", breakpoints)} AS segment,
            provider, model, app, team, environment, currency, price_source, price_id,
            count(*) AS caches, count(*) FILTER (WHERE cost_storage IS NULL) AS unpriced_caches,
            coalesce(sum(token_count * extract(epoch FROM expires_at - created_at))
                / 3600e6, 0) AS mtok_hours,
            coalesce(sum(cost_storage), 0) AS storage
        FROM cache_objects
        WHERE tenant_id = :tenant_id AND created_at >= :start AND created_at < :end
        GROUP BY 1, 2, provider, model, app, team, environment, currency, price_source,
            price_id
        ORDER BY 1, 2, provider, model, app, team, environment, currency, price_source,
            price_id
        """
    )
    return list(conn.execute(statement, params))
