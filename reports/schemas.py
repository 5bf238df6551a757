"""The bodies the reports answer with, as pydantic models: the API declares them as response
models (so /openapi.json describes every body) and validates what it sends against them.

Money is a decimal string (never a float), times are ISO 8601 strings, as the reports make them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from cache.advice import Kind

Money = str
Time = str


class CurrencyTotals(BaseModel):
    """Money of one currency within a group."""

    currency: str
    cost: Money
    nocache_cost: Money
    savings: Money


class SummaryGroup(BaseModel):
    """One group of the summary. `cost`, `nocache_cost` and `savings` are set when the group's
    charges are in one currency (else see `by_currency`); cost includes explicit-cache storage."""

    group: str | None
    requests: int
    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cache_write_1h_tokens: int
    output_tokens: int
    currency: str | None
    cost: Money | None
    nocache_cost: Money | None
    savings: Money | None
    by_currency: list[CurrencyTotals]
    token_hit_rate: float | None
    request_hit_rate: float | None
    unpriced_requests: int


class Summary(BaseModel):
    """Totals per group over [start, end), and their total."""

    start: Time
    end: Time
    group_by: str
    groups: list[SummaryGroup]
    # The sums of every group (group "TOTAL"), summed from the same rows.
    total: SummaryGroup


class StatementLine(BaseModel):
    """One group of a statement, or its TOTAL: tokens, cost by part, savings."""

    group: str | None
    requests: int
    unpriced_requests: int
    caches: int
    unpriced_caches: int
    input_tokens: int
    uncached_input_tokens: int
    cache_read_tokens: int
    cache_write_5m_tokens: int
    cache_write_1h_tokens: int
    output_tokens: int
    cost_uncached_input: Money
    cost_cache_read: Money
    cost_cache_write_5m: Money
    cost_cache_write_1h: Money
    cost_output: Money
    cost_tool_fees: Money
    cost_storage: Money
    cost: Money
    nocache_cost: Money
    savings: Money
    effective_discount_pct: Money | None
    write_premium: Money


class Statement(BaseModel):
    """A month's finance statement in one reporting currency; total = sum of the lines."""

    month: str
    group_by: str
    currency: str
    source_currencies: list[str]
    lines: list[StatementLine]
    total: StatementLine


class ReconciliationGroup(BaseModel):
    """Computed against reported cost for one (provider, model)."""

    provider: str | None
    model: str | None
    events: int
    unpriced_events: int
    reported: Money
    computed: Money
    difference: Money
    difference_pct: Money | None
    flagged: bool
    likely_cause: str | None


class Reconciliation(BaseModel):
    """Every group with reported charges; `flagged` lists those beyond tolerance."""

    start: Time
    end: Time
    tolerance_pct: Money
    tolerance_abs: Money
    flagged: list[ReconciliationGroup]
    groups: list[ReconciliationGroup]


class PrefixEconomics(BaseModel):
    """Cache economics of one (app, prefix, provider, model, currency)."""

    app: str | None
    prefix: str | None
    provider: str
    model: str | None
    currency: str | None
    requests: int
    write_requests: int
    read_requests: int
    write_tokens: int
    read_tokens: int
    reads_per_write: float | None
    break_even_reads: float | None
    net_savings: Money | None
    write_premium: Money | None
    loses_money: bool
    what_if_1h_change: Money | None
    what_if_1h_requests_that_would_hit: int


class CacheEconomics(BaseModel):
    """Per-prefix economics, the prefixes that lose money, and the 1-hour what-if by currency."""

    start: Time
    end: Time
    prefixes: list[PrefixEconomics]
    losing: list[PrefixEconomics]
    what_if_1h: dict[str, Money]


class RegressionOut(BaseModel):
    """One detected regression and its likely cause."""

    id: str = Field(description="opaque: names the regression, tells nothing of other tenants")
    kind: str
    scope: str
    app: str
    provider: str
    model: str
    cache_key: str
    opened_at: Time
    closed_at: Time | None
    baseline: float
    recent: float
    cause: str
    cost_per_day: Money | None = Field(
        description="hit-rate regressions: the extra spend a day at the recent pace (tokens"
        " no longer read, paid at the input rate, and rewrites at the write premium), at the"
        " rates the requests were priced at; null when they are unpriced"
    )
    currency: str | None
    details: dict[str, Any]


class Regressions(BaseModel):
    """Regressions overlapping the range, newest first."""

    regressions: list[RegressionOut]


class BudgetLine(BaseModel):
    """One budget's month to date."""

    scope: str
    name: str
    amount: Money
    currency: str
    threshold_pct: Money
    month_to_date: Money
    projected_month_end: Money
    used_pct: Money
    status: str = Field(description="ok, warning or exceeded")


class Budgets(BaseModel):
    """Every budget of the month, with how far the month is."""

    month: str
    elapsed_pct: float
    as_of: Time
    budgets: list[BudgetLine]


class RepriceTotal(BaseModel):
    """Cost of one currency before and after re-pricing."""

    before: Money
    after: Money
    change: Money


class Reprice(BaseModel):
    """What a re-pricing run changed (or, dry, would change); kept in the audit table."""

    run: str | None = Field(description="opaque id of the audited run")
    dry_run: bool
    events_seen: int
    events_changed: int
    unpriced_before: int
    unpriced_after: int
    totals: dict[str, RepriceTotal]


class RejectionClass(BaseModel):
    """One reason class of refused records of one source, since it was first seen."""

    source: str = Field(description="push, otlp, file, litellm, …")
    reason: str = Field(
        description="the field path without indices and the kind, e.g. usage:cache_exceeds_input"
    )
    count: int = Field(description="records refused for this reason since first_seen")
    first_seen: Time
    last_seen: Time
    sample_field: str = Field(description="the field the latest such record's error named")
    sample_error: str = Field(description="the latest such record's error, as its sender got it")


class SourceRejections(BaseModel):
    """A source's refused records over the classes seen in the range."""

    source: str
    rejected: int
    reasons: int
    last_seen: Time


class UnpricedModel(BaseModel):
    """Stored requests of one provider and model left unpriced, and how to price them."""

    provider: str
    model: str = Field(description="as the provider reported it (what a price is matched on)")
    reason: str = Field(description="why no price applied")
    requests: int
    last_seen: Time
    fix: str = Field(description="the commands that price them: add a price, then re-price")


class IngestRejections(BaseModel):
    """Reason classes of refused records seen in [start, end), most recently seen first; and
    the stored requests of the range left unpriced, by model."""

    start: Time
    end: Time
    source: str | None
    by_source: list[SourceRejections]
    rejections: list[RejectionClass]
    unpriced: list[UnpricedModel]


class OutcomeCount(BaseModel):
    """Records of one source, outcome and reason class that arrived in one time bucket."""

    time: Time = Field(description="the bucket's start (UTC hour or day)")
    source: str = Field(description="push, otlp, file, litellm, …")
    outcome: Literal["rejected", "duplicate", "conflict"]
    reason: str = Field(
        description="rejected: the reason class (as in /v1/ingest/rejections); duplicate: retry"
        " (the same record again) or merged (a span that completed its stored call); conflict:"
        " what differed from the stored record of its request id (usage, model, provider,"
        " joined by +)"
    )
    count: int


class OutcomeTotals(BaseModel):
    """The range's records that were not stored as new, by outcome."""

    rejected: int
    duplicates: int
    conflicts: int


class RecentConflict(BaseModel):
    """The latest conflict of one hour, source and class: a request id reused with other
    usage, model or provider (nothing stored was changed)."""

    hour: Time
    source: str
    reason: str = Field(description="what differed: usage, model, provider, joined by +")
    count: int = Field(description="conflicts of this class and source in the hour")
    last_seen: Time
    request_id: str | None = Field(description="the latest such record's request id")
    differences: str | None = Field(
        description="what it said otherwise, field by field, e.g. output_tokens 99 (stored: 10)"
    )


class IngestOutcomes(BaseModel):
    """Records rejected, found duplicate or in conflict, per hour or day they arrived in,
    source and reason class, over the hours that start in [start, end); and the latest
    conflicts."""

    start: Time
    end: Time
    source: str | None
    bucket: Literal["hour", "day"]
    totals: OutcomeTotals
    series: list[OutcomeCount] = Field(description="time order; buckets with none are left out")
    recent_conflicts: list[RecentConflict] = Field(description="newest first")


class AdviceFinding(BaseModel):
    """One piece of cache advice: what to change, the evidence, and what it is worth."""

    kind: Kind
    app: str | None
    provider: str
    model: str | None
    prompt_cache_key: str | None
    prefix: str | None
    currency: str
    monthly_saving: Money = Field(description="the range's saving scaled to 30 days, to cents")
    saving_in_range: Money
    requests: int = Field(description="the requests the finding rests on")
    recommendation: str
    explanation: str = Field(description="how the saving was computed: which requests, prices")
    evidence: dict[str, int | str]


class Advice(BaseModel):
    """The cache advisor's findings over [start, end), largest monthly saving first."""

    start: Time
    end: Time
    app: str | None
    min_saving: Money
    min_requests: int
    findings: list[AdviceFinding]
    notes: list[str]
