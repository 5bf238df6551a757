"""The 1-hour-TTL what-if in SQL (the rule of cache.whatif), for rebuilds and reports; ingest
keeps it per request as events arrive (store.write.whatif)."""

from __future__ import annotations

from billing.economics import FIVE_MINUTES, ONE_HOUR

# prefix_hourly's what-if columns.
WHATIF = ("whatif_hit_requests", "whatif_hit_tokens", "whatif_rewrite_tokens")

# prefix_hourly's sums over classified_sql rows, in prefix_hourly's column order.
PREFIX_SUMS = """
    count(*) AS requests, count(*) FILTER (WHERE cache_write_tokens > 0) AS write_requests,
    count(*) FILTER (WHERE cache_read_tokens > 0) AS read_requests,
    sum(cache_write_tokens) AS write_tokens, sum(cache_read_tokens) AS read_tokens,
    count(*) FILTER (WHERE short > 0 AND hit) AS whatif_hit_requests,
    coalesce(sum(short) FILTER (WHERE short > 0 AND hit), 0) AS whatif_hit_tokens,
    coalesce(sum(short) FILTER (WHERE short > 0 AND NOT hit), 0) AS whatif_rewrite_tokens,
    coalesce(sum(cost), 0) AS cost, coalesce(sum(savings), 0) AS savings,
    coalesce(sum(cost_write_premium), 0) AS write_premium
"""


def classified_sql(where: str) -> str:
    """Prefixed events of usage_events matching `where` (which may use :tenant_id, :lo,
    :hi) with `prefix`, `short` (5-minute write tokens) and `hit` (the what-if class), the
    previous request looked up in the hour before :lo."""
    return f"""
        SELECT *, coalesce(gap > {FIVE_MINUTES} AND gap <= {ONE_HOUR}, false) AS hit
        FROM (
            SELECT *, cache_write_tokens - cache_write_1h_tokens AS short,
                extract(epoch FROM occurred_at - lag(occurred_at) OVER (
                    PARTITION BY tenant_id, app, prefix, provider, model
                    ORDER BY occurred_at, id)) AS gap
            FROM (
                SELECT *, coalesce(prefix_hash, prompt_cache_key) AS prefix FROM usage_events
                WHERE coalesce(prefix_hash, prompt_cache_key) IS NOT NULL
                    AND occurred_at >= CAST(:lo AS timestamptz) - interval '1 hour'
                    AND occurred_at < :hi {where}
            ) keyed
        ) timed
        WHERE occurred_at >= :lo
    """
