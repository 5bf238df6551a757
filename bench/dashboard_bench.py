"""Dashboard callbacks at scale: N synthetic events over 30 days (default 10M), rollups built,
then each page's callback body timed (p50/p95 over repeated runs, several filter sets)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

from dashboard.filters import filters_from
from dashboard.pages import hitrate, latency, overview, spend
from reports.advice import advice
from reports.budgets import budget_status
from reports.economics import cache_economics
from reports.reconciliation import reconciliation
from reports.regressions import regressions
from reports.statement import statement
from reports.summary import summary
from store.analytics import dimension_values
from store.partitions import ensure_partitions, month_of
from store.prices import list_prices, load_price_book
from store.rollups import rebuild
from store.tenants import TenantRef, ensure_tenant

MODELS = [
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-opus-4-5"),
    ("openai", "gpt-5.1"),
    ("openai", "gpt-4.1-mini"),
    ("google", "gemini-2.5-pro"),
    ("google", "gemini-2.5-flash"),
    ("deepseek", "deepseek-chat"),
    ("x-ai", "grok-4"),
    ("mistral", "mistral-medium-latest"),
    ("groq", "openai/gpt-oss-120b"),
]
APPS = [
    ("support-bot", "cx"),
    ("code-review", "platform"),
    ("doc-qa", "search"),
    ("agent", "research"),
    ("classifier", "cx"),
    ("summaries", "search"),
    ("analytics", "data"),
    ("translate", "growth"),
    ("chat", "growth"),
    ("search", "search"),
    ("triage", "platform"),
    ("evals", "research"),
]

INSERT = """
INSERT INTO usage_events (occurred_at, tenant_id, source, provider, model, shape, input_tokens,
    cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, uncached_input_tokens,
    output_tokens, reasoning_tokens, ttft_ms, app, team, environment, prompt_cache_key, raw,
    currency, cost_uncached_input, cost_cache_read, cost_cache_write_5m, cost_cache_write_1h,
    cost_output, cost, nocache_cost, savings, cost_write_premium, miss_hint, reported_cost)
SELECT at, :tenant, 'bench', provider, model, 'bench', inp, rd, wr, 0, inp - rd - wr, outp, 0,
    CASE WHEN g % 2 = 0 THEN 150 + (inp - rd) * 0.05 + (g % 97) END, app, team, env,
    'key-' || (g % 40), '{}'::jsonb, 'USD', (inp - rd - wr) * 3 / 1e6, rd * 0.3 / 1e6,
    wr * 3.75 / 1e6, 0, outp * 15 / 1e6,
    ((inp - rd - wr) * 3 + rd * 0.3 + wr * 3.75 + outp * 15) / 1e6, (inp * 3 + outp * 15) / 1e6,
    (inp * 3 + outp * 15) / 1e6 - ((inp - rd - wr) * 3 + rd * 0.3 + wr * 3.75 + outp * 15) / 1e6,
    wr * 0.75 / 1e6,
    CASE WHEN rd = 0 THEN (ARRAY['first_write', 'ttl_expired', 'below_minimum_length',
        'prefix_changed', NULL])[1 + g % 5] END,
    -- A third of the traffic goes through a gateway that reports its own charge.
    CASE WHEN g % 3 = 0 THEN ((inp - rd - wr) * 3 + rd * 0.3 + wr * 3.75 + outp * 15) / 1e6
        * CASE WHEN g % 11 = 0 THEN 1.05 ELSE 1 END END
FROM (
    SELECT g, CAST(:start AS timestamptz) + (g * :span / :n) * interval '1 second' AS at,
        (CAST(:providers AS text[]))[1 + g % 10] AS provider,
        (CAST(:models AS text[]))[1 + g % 10] AS model,
        (CAST(:apps AS text[]))[1 + (g / 7) % 12] AS app,
        (CAST(:teams AS text[]))[1 + (g / 7) % 12] AS team,
        CASE WHEN g % 5 = 0 THEN 'staging' ELSE 'production' END AS env,
        1000 + (g * 7919) % 30000 AS inp, 100 + g % 900 AS outp
    FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS g
) base,
LATERAL (SELECT CASE WHEN g % 4 = 0 THEN 0 ELSE inp * (1 + g % 9) / 10 END AS rd) r,
LATERAL (SELECT CASE WHEN rd = 0 AND g % 8 = 0 THEN inp / 2 ELSE 0 END AS wr) w
"""


def seed(
    engine: Engine,
    events: int,
    now: datetime,
    progress: Callable[[str], None],
    tenant_name: str = "dashboard-bench",
) -> int:
    """Insert `events` synthetic events over the 30 days before `now`; build the rollups."""
    start = now - timedelta(days=30)
    ensure_partitions(engine, {month_of(start), month_of(now)})
    with engine.begin() as conn:
        tenant = ensure_tenant(conn, tenant_name)
    chunk = 1_000_000
    params = {
        "tenant": tenant.id,
        "start": start,
        "span": 30 * 86_400,
        "n": events,
        "providers": [p for p, _ in MODELS],
        "models": [m for _, m in MODELS],
        "apps": [a for a, _ in APPS],
        "teams": [t for _, t in APPS],
    }
    began = time.perf_counter()
    for lo in range(0, events, chunk):
        with engine.begin() as conn:
            conn.execute(text(INSERT), {**params, "lo": lo, "hi": min(lo + chunk, events) - 1})
        progress(
            f"  inserted {min(lo + chunk, events):,} events ({time.perf_counter() - began:.0f}s)"
        )
    with engine.begin() as conn:
        rebuild(conn, start, now + timedelta(hours=1), tenant.id)
        conn.execute(
            text(
                "ANALYZE usage_hourly; ANALYZE ttft_daily; ANALYZE prefix_daily; "
                "ANALYZE reported_hourly; ANALYZE prefix_hourly"
            )
        )
    progress(f"  rollups rebuilt ({time.perf_counter() - began:.0f}s)")
    return tenant.id


def callbacks(
    engine: Engine, tenant_id: int, today: Any
) -> dict[str, Callable[[dict[str, str]], Any]]:
    """Each page's callback body, as the dashboard runs it for URL filter values."""

    def run(body: Callable[[Any, Any], Any]) -> Callable[[dict[str, str]], Any]:
        def call(values: dict[str, str]) -> Any:
            f = filters_from(values, today)
            with engine.connect() as conn:
                return body(conn, f)

        return call

    return {
        "route (filter options)": run(lambda c, f: dimension_values(c, tenant_id, f.start, f.end)),
        "overview": run(
            lambda c, f: (overview.cards(c, tenant_id, f), overview.daily(c, tenant_id, f))
        ),
        "hit rate": run(
            lambda c, f: (
                hitrate.by_group(c, tenant_id, f, "model", "token"),
                hitrate.miss_figure(c, tenant_id, f),
                hitrate.heat_figure(c, tenant_id, f, None),
                hitrate.prefix_table(c, tenant_id, f),
            )
        ),
        "latency": run(
            lambda c, f: (
                latency.distribution(c, tenant_id, f),
                latency.percentiles_by_day(c, tenant_id, f),
                latency.fits(c, tenant_id, f),
            )
        ),
        "spend": run(
            lambda c, f: (
                spend.figures(c, tenant_id, f),
                spend.top(c, tenant_id, f, "app"),
                spend.top(c, tenant_id, f, "team"),
                spend.top(c, tenant_id, f, "model"),
                spend.budgets(c, tenant_id),
            )
        ),
        "statements": run(
            lambda c, f: statement(c, tenant_id, today.strftime("%Y-%m"), "team", None)
        ),
        # The report endpoints' bodies (GET /v1/reports/*, /v1/regressions, /v1/budgets).
        "report: summary": run(lambda c, f: summary(c, tenant_id, f.start, f.end, "model")),
        "report: statement": run(
            lambda c, f: statement(c, tenant_id, today.strftime("%Y-%m"), "model", None)
        ),
        "report: reconciliation": run(
            lambda c, f: reconciliation(c, TenantRef(tenant_id, "dashboard-bench"), f.start, f.end)
        ),
        "report: cache economics": run(
            lambda c, f: cache_economics(c, TenantRef(tenant_id, "dashboard-bench"), f.start, f.end)
        ),
        "report: advice": run(
            lambda c, f: advice(c, TenantRef(tenant_id, "dashboard-bench"), f.start, f.end)
        ),
        "report: regressions": run(lambda c, f: regressions(c, tenant_id, f.start, f.end)),
        "report: budgets": run(lambda c, f: budget_status(c, tenant_id, datetime.now(UTC))),
        "prices": run(
            lambda c, f: (
                list_prices(c),
                load_price_book(c).resolve("anthropic", "claude-sonnet-4-5", datetime.now(UTC)),
            )
        ),
    }


def measure(engine: Engine, tenant_id: int, repeats: int = 7) -> dict[str, dict[str, float]]:
    """p50 and p95 milliseconds per callback over filter sets and repeats."""
    # The dashboard's filters take the moment a page is drawn (its hour ends the range).
    today = datetime.now(UTC)
    views = [
        {"range": "7d"},
        {"range": "30d"},
        {"range": "30d", "provider": "openai"},
        {"range": "7d", "app": "doc-qa"},
    ]
    results = {}
    for name, call in callbacks(engine, tenant_id, today).items():
        began = time.perf_counter()
        call(views[0])  # warm the caches once, as a running server would be
        warm = (time.perf_counter() - began) * 1000
        times = []
        # A query far over target is timed once per view, not repeats times: the figure
        # is already clear and the run should not take an hour.
        for _ in range(repeats if warm < 3000 else 1):
            for values in views:
                began = time.perf_counter()
                call(values)
                times.append((time.perf_counter() - began) * 1000)
        times.sort()
        results[name] = {
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
        }
    return results
