"""The 1-hour what-if kept at ingest: however requests arrive (shuffled batches, late ones,
concurrent clients), the per-prefix rollup equals a rebuild from events and a replay of every
prefix's timeline; the report over any range (partial hours included) equals the replay."""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, select, text

from billing.economics import PrefixRequest, WhatIfCounts, what_if_counts, would_hit
from ingest.metrics import IngestMetrics
from ingest.service import Ingestor
from store.economics import prefix_groups
from store.models import UsageEvent
from store.rollups import rebuild
from store.tenants import ensure_tenant

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
GAPS = [0, 30, 240, 299, 300, 301, 900, 1800, 3599, 3600, 3601, 5400, 7200]


def _records(seed: int) -> list[dict[str, Any]]:
    """Three prefixes (one with no app) with gaps on both sides of 5 and 60 minutes, writes,
    1-hour writes, reads, and requests at the same instant."""
    rng = random.Random(seed)
    records = []
    for key, app in (("sys-a", "chat"), ("sys-b", "chat"), ("sys-c", None)):
        at = T0
        for n in range(60):
            at += timedelta(seconds=rng.choice(GAPS))
            write = rng.choice([0, 0, 2000, 3000])
            one_hour = write if write and rng.random() < 0.2 else 0
            records.append(
                {
                    "provider": "anthropic",
                    "model": "claude-sonnet-4-5",
                    "request_id": f"{key}-{n}",
                    "occurred_at": at.isoformat(),
                    "prompt_cache_key": key,
                    **({"app": app} if app else {}),
                    "usage": {
                        "input_tokens": 100,
                        "cache_read_input_tokens": 0 if write else 3000,
                        "cache_creation_input_tokens": write,
                        "cache_creation": {
                            "ephemeral_5m_input_tokens": write - one_hour,
                            "ephemeral_1h_input_tokens": one_hour,
                        },
                        "output_tokens": 20,
                    },
                }
            )
    return records


def _ingest(engine: Engine, batches: list[list[dict[str, Any]]], threads: int = 1) -> None:
    with engine.begin() as conn:
        tenant = ensure_tenant(conn, "acme")
    ingestor = Ingestor(engine, IngestMetrics(CollectorRegistry()))
    queue = list(batches)
    lock = threading.Lock()
    failures: list[BaseException] = []

    def work() -> None:
        while True:
            with lock:
                if not queue:
                    return
                batch = queue.pop()
            try:
                result = ingestor.ingest(
                    tenant, batch, source="push", received_at=T0 + timedelta(days=3)
                )
                assert not result.rejected, result.rejected
            except BaseException as exc:  # reported below, from the test's thread
                failures.append(exc)
                return

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []


def _replay(engine: Engine, start: datetime, end: datetime) -> dict[tuple[Any, ...], Any]:
    """Per prefix: the what-if counts of its requests in [start, end), each classified by
    the gap to its previous request of all time (the replay the rollup must equal)."""
    with engine.connect() as conn:
        events = conn.execute(
            select(UsageEvent.__table__).order_by(UsageEvent.occurred_at, UsageEvent.id)
        ).all()
    timelines: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    for e in events:
        key = (e.app, e.prefix_hash or e.prompt_cache_key, e.provider, e.model)
        timelines[key].append(e)
    out = {}
    for key, timeline in timelines.items():
        hits = tokens = rewrite = 0
        for previous, e in zip([None, *timeline], timeline, strict=False):
            if not start <= e.occurred_at < end:
                continue
            short = e.cache_write_tokens - e.cache_write_1h_tokens
            gap = (e.occurred_at - previous.occurred_at).total_seconds() if previous else None
            if short > 0 and would_hit(gap):
                hits, tokens = hits + 1, tokens + short
            elif short > 0:
                rewrite += short
        out[key] = WhatIfCounts(hits, tokens, rewrite)
    return out


def _rolled(engine: Engine, start: datetime, end: datetime) -> dict[tuple[Any, ...], Any]:
    with engine.connect() as conn:
        tenant_id = conn.execute(text("SELECT id FROM tenants")).scalar_one()
        groups = prefix_groups(conn, tenant_id, start, end)
    out: dict[tuple[Any, ...], WhatIfCounts] = {}
    for g in groups:
        key = (g["app"], g["prefix"], g["provider"], g["model"])
        out[key] = out.get(key, WhatIfCounts(0, 0, 0)) + WhatIfCounts.of(g)
    return out


def _snapshot(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT hour, app, prefix, provider, model, currency, requests,"
                    " write_requests, read_requests, write_tokens, read_tokens,"
                    " whatif_hit_requests, whatif_hit_tokens, whatif_rewrite_tokens, cost,"
                    " savings, write_premium FROM prefix_hourly"
                    " ORDER BY hour, app NULLS FIRST, prefix, provider, model, currency"
                )
            )
        ]


WHOLE = (T0 - timedelta(days=1), T0 + timedelta(days=2))


def test_shuffled_late_and_concurrent_batches_keep_the_what_if_exact(engine: Engine) -> None:
    records = _records(seed=11)
    rng = random.Random(3)
    rng.shuffle(records)
    # Shuffled batches from three concurrent clients, then a replayed batch (duplicates).
    batches = [records[i : i + 17] for i in range(0, len(records), 17)]
    _ingest(engine, batches, threads=3)
    _ingest(engine, [records[:40]])
    want = _replay(engine, *WHOLE)
    assert sum(c.hit_requests for c in want.values()) > 5  # the scenario has hits
    assert sum(c.rewrite_tokens for c in want.values()) > 0
    assert _rolled(engine, *WHOLE) == want
    incremental = _snapshot(engine)
    with engine.begin() as conn:
        rebuild(conn, *WHOLE)
    assert _snapshot(engine) == incremental


def test_report_ranges_with_partial_hours_match_the_replay(engine: Engine) -> None:
    records = _records(seed=5)
    _ingest(engine, [records[i : i + 50] for i in range(0, len(records), 50)])
    for start, end in (
        WHOLE,
        (T0 + timedelta(minutes=37), T0 + timedelta(hours=3, minutes=11)),
        (T0 + timedelta(hours=1, minutes=5), T0 + timedelta(hours=1, minutes=55)),
        (T0 + timedelta(hours=2), T0 + timedelta(hours=4)),
    ):
        want = _replay(engine, start, end)
        got = _rolled(engine, start, end)
        assert {k: v for k, v in got.items() if v != WhatIfCounts(0, 0, 0)} == {
            k: v for k, v in want.items() if v != WhatIfCounts(0, 0, 0)
        }, (start, end)


def test_replay_matches_the_per_request_reference(engine: Engine) -> None:
    # The reference what_if_counts (billing) over each whole timeline = the replay above.
    records = _records(seed=8)
    _ingest(engine, [records])
    with engine.connect() as conn:
        events = conn.execute(
            select(UsageEvent.__table__).order_by(UsageEvent.occurred_at, UsageEvent.id)
        ).all()
    timelines: dict[Any, list[PrefixRequest]] = defaultdict(list)
    for e in events:
        timelines[(e.app, e.prompt_cache_key, e.provider, e.model)].append(
            PrefixRequest(
                e.occurred_at, e.cache_read_tokens, e.cache_write_tokens, e.cache_write_1h_tokens
            )
        )
    assert {k: what_if_counts(v) for k, v in timelines.items()} == _replay(engine, *WHOLE)
    assert _rolled(engine, *WHOLE) == _replay(engine, *WHOLE)


def test_a_batch_waits_for_another_batch_of_the_same_prefix(engine: Engine) -> None:
    """The per-prefix lock: while another transaction holds it, ingest of that prefix waits
    (and then sees the other's committed requests), its request ids already claimed, so
    only the prefix's history is taken in turns; other prefixes do not wait."""
    from store.write.whatif import PREFIX_LOCK, lock_id

    [first, *_] = _records(seed=2)
    other_prefix = {**first, "request_id": "other", "prompt_cache_key": "sys-z"}
    _ingest(engine, [[other_prefix]])  # creates the tenant
    with engine.connect() as conn:
        tenant_id = conn.execute(text("SELECT id FROM tenants")).scalar_one()
    lock = {
        "ns": PREFIX_LOCK,
        "h": lock_id(tenant_id, ("chat", "sys-a", "anthropic", first["model"])),
    }
    done = threading.Event()
    with engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(:ns, :h)"), lock)

        def ingest_first() -> None:
            _ingest(engine, [[first]])
            done.set()

        worker = threading.Thread(target=ingest_first)
        worker.start()
        assert not done.wait(1.0)  # blocked behind the lock
        claimed = (
            holder.execute(
                text(
                    "SELECT c.relname FROM pg_locks w JOIN pg_locks l ON l.pid = w.pid"
                    " JOIN pg_class c ON c.oid = l.relation WHERE w.locktype = 'advisory'"
                    " AND NOT w.granted AND l.mode = 'RowExclusiveLock'"
                )
            )
            .scalars()
            .all()
        )
        assert "usage_keys" in claimed
        _ingest(engine, [[{**other_prefix, "request_id": "other-2"}]])  # not blocked
        holder.execute(text("SELECT pg_advisory_unlock(:ns, :h)"), lock)
        holder.commit()
    assert done.wait(30)
    worker.join()
