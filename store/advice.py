"""The cache advisor's SQL: per-request facts of a range (the gap to the previous request of
the same app, model and cache key, whether its prefix hash is new) summed per group, and per
prefix sent without a cache key (cache.advice reads the sums; its docstring defines them)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

# A model's limits: (minimum cacheable prompt, likely TTL in seconds), by (provider, model).
Limits = Mapping[tuple[str, str | None], tuple[int, int]]
# The longest gap a rule looks at without a TTL: ttl_too_short's "within the hour".
WITHIN_THE_HOUR = 3600


def lookback(limits: Limits) -> timedelta:
    """How far before a range its first requests' previous ones are looked for: as far as any
    rule reads a gap (the hour, or a longer TTL), so a request just after the range's start
    is warm or cold as it was, not one without a previous request."""
    return timedelta(seconds=max([WITHIN_THE_HOUR, *(ttl for _, ttl in limits.values())]))


def models_used(
    conn: Connection, tenant_id: int, start: datetime, end: datetime, app: str | None
) -> list[tuple[str, str | None]]:
    """The (provider, model) pairs of the tenant's requests in [start, end) (of `app`)."""
    rows = conn.execute(
        text(
            """
            SELECT DISTINCT provider, model FROM usage_events
            WHERE tenant_id = :tenant_id AND occurred_at >= :start AND occurred_at < :end
                AND (CAST(:app AS text) IS NULL OR app = :app)
            """
        ),
        {"tenant_id": tenant_id, "start": start, "end": end, "app": app},
    )
    return [(r.provider, r.model) for r in rows]


def _facts(limits: Limits) -> tuple[str, dict[str, Any]]:
    """The per-request facts as a subquery, and the parameters of the models' limits."""
    pairs = list(limits.items())
    params: dict[str, Any] = {
        "providers": [p for (p, _), _ in pairs],
        "models": [m for (_, m), _ in pairs],
        "minimums": [lim[0] for _, lim in pairs],
        "ttls": [lim[1] for _, lim in pairs],
    }
    group = "e.app, e.provider, e.model, coalesce(e.prompt_cache_key, '')"
    sql = f"""
        SELECT e.app, e.provider, e.model, e.prompt_cache_key, e.prefix_hash, e.occurred_at,
            e.input_tokens, e.output_tokens, e.cache_read_tokens AS rd,
            e.cache_write_tokens AS wr, l.minimum, l.ttl,
            extract(epoch FROM e.occurred_at - lag(e.occurred_at) OVER g) AS gap,
            lag(e.prefix_hash) OVER g AS previous_prefix,
            extract(epoch FROM e.occurred_at - lag(e.occurred_at) OVER p) AS prefix_gap,
            max(e.occurred_at) OVER (PARTITION BY {group}) AS last_at
        FROM usage_events e
        JOIN unnest(CAST(:providers AS text[]), CAST(:models AS text[]),
                CAST(:minimums AS int[]), CAST(:ttls AS int[])) AS l(provider, model, minimum, ttl)
            ON l.provider = e.provider AND l.model IS NOT DISTINCT FROM e.model
        WHERE e.tenant_id = :tenant_id AND e.occurred_at >= :since AND e.occurred_at < :end
            AND (CAST(:app AS text) IS NULL OR e.app = :app)
        WINDOW g AS (PARTITION BY {group} ORDER BY e.occurred_at, e.id),
            p AS (PARTITION BY {group}, e.prefix_hash ORDER BY e.occurred_at, e.id)
    """
    return sql, params


# The conditions the sums count (f: a row of the facts).
_SAME_PREFIX = "(prefix_hash IS NULL OR previous_prefix IS NULL OR prefix_hash = previous_prefix)"
_NEW_PREFIX = "prefix_hash <> previous_prefix"
_NEW_MISS = f"{_NEW_PREFIX} AND rd = 0 AND input_tokens >= minimum AND gap <= ttl"
_RECENT = "occurred_at > last_at - interval '24 hours'"
_PLAIN = "rd = 0 AND wr = 0 AND input_tokens >= minimum"
_SHORT = "rd = 0 AND input_tokens >= minimum / 2.0 AND input_tokens < minimum"
_FOLLOWS = "prefix_hash IS NOT NULL AND previous_prefix IS NOT NULL"


def advice_sums(
    conn: Connection,
    tenant_id: int,
    start: datetime,
    end: datetime,
    app: str | None,
    limits: Limits,
) -> tuple[list[Any], list[Any]]:
    """Over [start, end): the sums of cache.advice.RequestGroup per (app, provider, model,
    prompt cache key), and those of cache.advice.KeylessPrefix per (app, provider, model,
    prefix hash) of requests sent without a cache key. One pass over the events: their
    per-request facts (two window sorts) are computed once for both."""
    facts, params = _facts(limits)
    warm = "prefix_gap <= ttl AND input_tokens >= minimum"
    statement = text(
        f"""
        SELECT app, provider, model, prompt_cache_key, prefix_hash AS prefix,
            GROUPING(prefix_hash) = 0 AS by_prefix, count(*) AS requests,
            sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
            min(rd) FILTER (WHERE rd > 0) AS smallest_read,
            count(*) FILTER (WHERE {_PLAIN}) AS plain,
            count(*) FILTER (WHERE {_PLAIN} AND gap <= ttl AND {_SAME_PREFIX}) AS plain_warm,
            count(*) FILTER (WHERE {_SHORT}) AS short,
            count(*) FILTER (WHERE {_SHORT} AND gap <= ttl) AS short_warm,
            min(input_tokens) FILTER (WHERE {_SHORT}) AS short_min,
            max(input_tokens) FILTER (WHERE {_SHORT}) AS short_max,
            count(*) FILTER (WHERE {_FOLLOWS}) AS prefix_follows,
            count(*) FILTER (WHERE {_NEW_PREFIX}) AS new_prefix,
            count(*) FILTER (WHERE {_NEW_MISS}) AS new_prefix_misses,
            count(*) FILTER (WHERE {_FOLLOWS} AND {_RECENT}) AS recent_prefix_follows,
            count(*) FILTER (WHERE {_NEW_PREFIX} AND {_RECENT}) AS recent_new_prefix,
            count(*) FILTER (WHERE {_NEW_MISS} AND {_RECENT}) AS recent_new_prefix_misses,
            count(*) FILTER (WHERE rd = 0 AND input_tokens >= minimum AND gap > ttl
                AND gap <= 3600 AND {_SAME_PREFIX}) AS expired_within_hour,
            count(*) FILTER (WHERE gap <= ttl AND input_tokens >= minimum) AS warm,
            count(*) FILTER (WHERE {warm}) AS prefix_warm,
            count(*) FILTER (WHERE {warm} AND rd = 0) AS warm_misses,
            count(*) FILTER (WHERE {warm} AND rd > 0) AS warm_hits
        FROM ({facts}) f
        -- The requests before the range were read only as previous ones.
        WHERE occurred_at >= :start
        GROUP BY GROUPING SETS (
            (app, provider, model, prompt_cache_key),
            (app, provider, model, prompt_cache_key, prefix_hash)
        )
        ORDER BY app, provider, model, prompt_cache_key, prefix_hash
        """
    )
    # The two sorts hold every event of the range: in memory where they fit, not on disk.
    conn.execute(text("SELECT set_config('work_mem', '64MB', true)"))
    rows = conn.execute(
        statement,
        {
            **params,
            "tenant_id": tenant_id,
            "since": start - lookback(limits),
            "start": start,
            "end": end,
            "app": app,
        },
    ).all()
    groups = [r for r in rows if not r.by_prefix]
    keyless = [
        r for r in rows if r.by_prefix and r.prompt_cache_key is None and r.prefix is not None
    ]
    return groups, keyless
