"""Prometheus metrics for ingest, on a registry the app owns (tests use a private one).

Counters move only after the batch's transaction commits and only for stored records, so a
duplicate never counts twice. They count at ingest time: a backfill of old events shows as a
burst "now" (read history from the dashboard or reports, which use each event's own time).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ingest.pricing import PricedRecord
from store.models import DIMENSIONS

TOKEN_KINDS = ("uncached", "cache_read", "cache_write_5m", "cache_write_1h")
MISS_CAUSES = ("below_minimum_length", "first_write", "prefix_changed", "ttl_expired")
TTFT_BUCKETS = (
    0.05,
    0.1,
    0.2,
    0.3,
    0.5,
    0.75,
    1.0,
    1.5,
    2.0,
    3.0,
    5.0,
    7.5,
    10.0,
    15.0,
    20.0,
    30.0,
)
OTHER = "other"


class LabelBounds:
    """Keeps label values to bounded sets: an allow-list per label where configured, else the
    first `cap` values seen; anything beyond folds into "other"."""

    def __init__(self, cap: int = 50, allow: Mapping[str, frozenset[str]] | None = None) -> None:
        self.cap = cap
        self.allow = dict(allow or {})
        self._seen: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def value(self, label: str, raw: str | None) -> str:
        """The exported value of one label."""
        if raw is None or raw == "":
            return "none"
        allowed = self.allow.get(label)
        if allowed is not None:
            return raw if raw in allowed else OTHER
        with self._lock:
            seen = self._seen.setdefault(label, set())
            if raw in seen:
                return raw
            if len(seen) < self.cap:
                seen.add(raw)
                return raw
        return OTHER


# Why an event has no price, as a bounded label: no model named; no price for the model; a
# service term (tier, geography, speed, search context size) or a fee (server tools, billed
# quantities) whose rate is not known.
UNPRICED_REASONS = ("no_model", "unknown_model", "unknown_term", "unknown_fee")
_TERMS = ("service tier", "inference geo", "speed for", "the request fee of")
_FEES = ("fees of", "server tool fees")


def unpriced_reason(reason: str) -> str:
    """A bounded category for an unpriced event's free-text reason."""
    if reason.startswith("no model"):
        return "no_model"
    if reason.startswith(_TERMS):
        return "unknown_term"
    if reason.startswith(_FEES):
        return "unknown_fee"
    return "unknown_model"


# Record results, all known: they start at 0.
RECORD_RESULTS = ("accepted", "duplicate", "rejected", "conflict")


class IngestMetrics:
    """The exporter's metrics; label values go through `LabelBounds`."""

    def __init__(self, registry: CollectorRegistry, bounds: LabelBounds | None = None) -> None:
        self.registry = registry
        self.bounds = bounds or LabelBounds()
        dims = list(DIMENSIONS)
        self.records = Counter(
            "cachemeter_ingest_records",
            "Usage records received, by result (accepted, duplicate, rejected).",
            ["result"],
            registry=registry,
        )
        for result in RECORD_RESULTS:
            self.records.labels(result)
        self.rejections = Counter(
            "cachemeter_ingest_rejections",
            "Rejected usage records (pushed records, OTLP spans, imported lines), by source and"
            " reason class (field path without indices, and kind, e.g. usage:negative).",
            ["source", "reason"],
            registry=registry,
        )
        self.requests = Counter(
            "cachemeter_requests",
            "Stored LLM requests, by whether they read from the cache.",
            [*dims, "cache_hit"],
            registry=registry,
        )
        self.input_tokens = Counter(
            "cachemeter_input_tokens",
            "Input tokens of stored requests, by kind: uncached, cache_read, "
            "cache_write_5m, cache_write_1h.",
            [*dims, "kind"],
            registry=registry,
        )
        self.output_tokens = Counter(
            "cachemeter_output_tokens", "Output tokens of stored requests.", dims, registry=registry
        )
        self.cost = Counter(
            "cachemeter_cost",
            "What stored requests cost, in `currency`.",
            [*dims, "currency"],
            registry=registry,
        )
        self.nocache_cost = Counter(
            "cachemeter_nocache_cost",
            "What stored requests would have cost without caching, in `currency`. "
            "Savings = nocache_cost - cost.",
            [*dims, "currency"],
            registry=registry,
        )
        self.unpriced = Counter(
            "cachemeter_unpriced_events",
            "Stored events without a price, by reason.",
            ["provider", "reason"],
            registry=registry,
        )
        self.misses = Counter(
            "cachemeter_cache_misses",
            "Stored requests that read nothing from the cache, by cause.",
            ["provider", "app", "cause"],
            registry=registry,
        )
        self.ttft = Histogram(
            "cachemeter_ttft_seconds",
            "Time to first token reported with stored requests.",
            ["provider", "model", "cache_hit"],
            buckets=TTFT_BUCKETS,
            registry=registry,
        )
        self.catalogue_age = Gauge(
            "cachemeter_price_catalogue_age_seconds",
            "Seconds since the price data in force last changed (sync or price added).",
            registry=registry,
        )
        self.regression_open = Gauge(
            "cachemeter_regression_open",
            "1 while a regression is open, per kind (hit_rate, ttft), app and model.",
            ["kind", "app", "model"],
            registry=registry,
        )
        self.regression_cost = Gauge(
            "cachemeter_regression_cost_per_day",
            "Extra spend a day the open hit-rate regressions cause, per app and model, in"
            " currency (GET /v1/regressions: cost_per_day).",
            ["kind", "app", "model", "currency"],
            registry=registry,
        )
        self.http_requests = Counter(
            "cachemeter_http_requests",
            "HTTP requests served, by route template.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.http_duration = Histogram(
            "cachemeter_http_request_duration_seconds",
            "HTTP request latency by route template.",
            ["method", "route"],
            registry=registry,
        )

    def preset(self, providers: Iterable[str]) -> None:
        """Start the label sets alert rules rely on at 0 (Prometheus' increase() sees an
        event only on a series that existed before it): unpriced events of these providers
        (those with recent traffic), for every reason."""
        for provider in providers:
            for reason in UNPRICED_REASONS:
                self.unpriced.labels(self.bounds.value("provider", provider), reason)

    def observe_stored(self, batch: Iterable[PricedRecord]) -> None:
        """Count a batch of stored (not duplicate) records.

        Sums per label set first and moves each counter once: a 1,000-record batch touches a
        handful of series, and `labels()` per record was the exporter's main ingest cost."""
        bound = self.bounds.value
        sums: dict[tuple[Counter, tuple[str, ...]], float] = defaultdict(float)
        money: dict[tuple[Counter, tuple[str, ...]], Decimal] = defaultdict(Decimal)
        dims_of: dict[tuple[str | None, ...], tuple[str, ...]] = {}
        ttfts: dict[tuple[str, ...], list[float]] = defaultdict(list)
        for priced in batch:
            record, usage, charge = priced.record, priced.record.usage, priced.charge
            raw = tuple(getattr(record, d) for d in DIMENSIONS)
            dims = dims_of.get(raw)
            if dims is None:
                dims = dims_of[raw] = tuple(
                    bound(d, v) for d, v in zip(DIMENSIONS, raw, strict=True)
                )
            hit = "true" if usage.cache_read_tokens > 0 else "false"
            sums[self.requests, (*dims, hit)] += 1
            for kind, value in zip(
                TOKEN_KINDS,
                (
                    usage.uncached_input_tokens,
                    usage.cache_read_tokens,
                    usage.cache_write_5m_tokens,
                    usage.cache_write_1h_tokens,
                ),
                strict=True,
            ):
                if value:
                    sums[self.input_tokens, (*dims, kind)] += value
            if usage.output_tokens:
                sums[self.output_tokens, dims] += usage.output_tokens
            if charge is not None:
                money[self.cost, (*dims, charge.currency)] += charge.cost
                money[self.nocache_cost, (*dims, charge.currency)] += charge.nocache_cost
            elif priced.unpriced_reason:
                sums[self.unpriced, (dims[0], unpriced_reason(priced.unpriced_reason))] += 1
            if hit == "false":
                cause = priced.miss_hint if priced.miss_hint in MISS_CAUSES else "unknown"
                sums[self.misses, (dims[0], dims[2], cause)] += 1
            if record.ttft_ms is not None:
                ttfts[dims[0], dims[1], hit].append(record.ttft_ms / 1000)
        for labels, seconds in ttfts.items():
            histogram = self.ttft.labels(*labels)
            for elapsed in seconds:
                histogram.observe(elapsed)
        for (counter, labels), amount in sums.items():
            counter.labels(*labels).inc(amount)
        # Prometheus counters are floats: fine for rates; the books stay in Decimal.
        for (counter, labels), total in money.items():
            counter.labels(*labels).inc(float(total))
