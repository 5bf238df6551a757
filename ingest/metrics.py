"""Prometheus counters for ingest, on a registry the app owns (tests use a private one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from ingest.pricing import PricedRecord

TOKEN_KINDS = ("uncached", "cache_read", "cache_write_5m", "cache_write_1h", "output")


class IngestMetrics:
    """Counters updated only for records actually stored, so duplicates never count twice."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.records = Counter(
            "cachemeter_ingest_records",
            "Usage records received, by result (accepted, duplicate, rejected).",
            ["result"],
            registry=registry,
        )
        self.tokens = Counter(
            "cachemeter_tokens",
            "Tokens of stored requests by kind (input split by cache use, and output).",
            ["kind", "provider"],
            registry=registry,
        )
        self.requests = Counter(
            "cachemeter_requests",
            "Stored LLM requests, and whether they read from the cache.",
            ["provider", "cache_hit"],
            registry=registry,
        )
        self.unpriced = Counter(
            "cachemeter_unpriced_events",
            "Stored events for which no price was found (re-priceable later).",
            ["provider"],
            registry=registry,
        )

    def observe_stored(self, priced: PricedRecord) -> None:
        """Count one stored (not duplicate) record."""
        usage, provider = priced.record.usage, priced.record.provider
        counts = (
            usage.uncached_input_tokens,
            usage.cache_read_tokens,
            usage.cache_write_5m_tokens,
            usage.cache_write_1h_tokens,
            usage.output_tokens,
        )
        for kind, value in zip(TOKEN_KINDS, counts, strict=True):
            if value:
                self.tokens.labels(kind=kind, provider=provider).inc(value)
        self.requests.labels(
            provider=provider, cache_hit=str(usage.cache_read_tokens > 0).lower()
        ).inc()
        if priced.charge is None:
            self.unpriced.labels(provider=provider).inc()
