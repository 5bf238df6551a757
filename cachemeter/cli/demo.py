"""Synthetic but realistic traffic for `cachemeter up --demo`, sent through the real ingest path.

Seven apps over a few days, each in its provider's own payload shape: multi-turn support chats
whose hit rate climbs turn by turn and whose prefix expires between chats (Anthropic, 5-minute
TTL); a code reviewer whose hit rate collapses at midnight UTC of the day before the last, when a
timestamp is put at the top of its system prompt (OpenAI); document Q&A sessions on the
Responses API; a research agent that caches its tools with a 1-hour TTL; a ticket classifier
whose prompts are all below the minimum cacheable length; a Gemini summariser with a daily
explicit cache (storage billed per MTok-hour); and an analytics job on DeepSeek.
Deterministic (seeded) and idempotent (request ids are stable), so loading twice adds nothing.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from cache.regressions import DetectorConfig
from cachemeter.workers.regressions import check_regressions
from ingest.service import Ingestor
from store.tenants import ensure_tenant


def _slot(start: datetime, minutes: int) -> int:
    """An absolute slot number, so a later reload reuses the request ids of the same slots."""
    return int(start.timestamp()) // (minutes * 60)


def _rng(seed: int, app: str, slot: int) -> random.Random:
    """One generator per slot: a slot looks the same whichever window it is generated in."""
    return random.Random(f"{seed}-{app}-{slot}")


def _ttft(uncached: int, rng: random.Random) -> float:
    # Prefill dominates time to first token: cached tokens skip most of it.
    return round(180 + uncached * 0.045 + rng.gauss(0, 40) ** 2 / 40, 1)


def _support_chats(start: datetime, hours: int, seed: int) -> Iterator[dict[str, Any]]:
    system = 3_600
    first = _slot(start, 20)
    for chat in range(first, first + hours * 3):
        rng = _rng(seed, "support", chat)
        at = start + timedelta(minutes=(chat - first) * 20 + rng.randint(0, 15))
        history = 0
        for turn in range(rng.randint(2, 8)):
            new = rng.randint(150, 600)
            if turn == 0:
                read, write, plain = 0, system, new
            else:
                read, write, plain = system + history, new, rng.randint(5, 40)
            history += new + 250
            yield {
                "provider": "anthropic",
                "model": "claude-sonnet-4-5",
                "request_id": f"demo-support-{chat}-{turn}",
                "occurred_at": (at + timedelta(minutes=turn * 2)).isoformat(),
                "app": "support-bot",
                "team": "customer-experience",
                "environment": "production",
                "prompt_cache_key": "support-system-v3",
                "ttft_ms": _ttft(plain + write, rng),
                "response": {
                    "id": f"msg_demo_{chat}_{turn}",
                    "type": "message",
                    "model": "claude-sonnet-4-5",
                    "usage": {
                        "input_tokens": plain,
                        "cache_creation_input_tokens": write,
                        "cache_read_input_tokens": read,
                        "output_tokens": rng.randint(120, 400),
                    },
                },
            }


def _code_review(
    start: datetime, hours: int, change_at: datetime, seed: int
) -> Iterator[dict[str, Any]]:
    first = _slot(start, 5)
    for n in range(first, first + hours * 12):
        rng = _rng(seed, "review", n)
        at = start + timedelta(minutes=(n - first) * 5 + rng.randint(0, 3))
        prompt = rng.randint(7_000, 12_000)
        # After the prompt change a timestamp sits at the top of the prompt: nothing matches.
        cached = 0 if at >= change_at and rng.random() < 0.93 else (6_144 // 128) * 128
        yield {
            "provider": "openai",
            "request_id": f"demo-review-{n}",
            "occurred_at": at.isoformat(),
            "app": "code-review",
            "team": "platform",
            "environment": "production",
            "prompt_cache_key": "code-review-system",
            # From the change on, a timestamp heads the system prompt: every prefix is new.
            "prefix_hash": f"review-{at:%Y%m%d%H%M}" if at >= change_at else "review-v1",
            "ttft_ms": _ttft(prompt - cached, rng),
            "response": {
                "id": f"chatcmpl-demo-{n}",
                "object": "chat.completion",
                "model": "gpt-5.1",
                "choices": [],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": rng.randint(300, 900),
                    "prompt_tokens_details": {"cached_tokens": cached},
                    "completion_tokens_details": {"reasoning_tokens": rng.randint(0, 200)},
                },
            },
        }


def _doc_qa(start: datetime, hours: int, seed: int) -> Iterator[dict[str, Any]]:
    """Document Q&A on the Responses API: short sessions over one of five large documents."""
    first = _slot(start, 30)
    for session in range(first, first + hours * 2):
        rng = _rng(seed, "docqa", session)
        at = start + timedelta(minutes=(session - first) * 30 + rng.randint(0, 5))
        document = 20_000 + (session % 5) * 4_000
        for question in range(rng.randint(2, 6)):
            asked = at + timedelta(minutes=question * rng.randint(1, 3))
            prompt = document + rng.randint(50, 400)
            cached = 0 if question == 0 else document // 128 * 128
            yield {
                "provider": "openai",
                "request_id": f"demo-docqa-{session}-{question}",
                "occurred_at": asked.isoformat(),
                "app": "doc-qa",
                "team": "search",
                "environment": "production",
                "prompt_cache_key": f"doc-{session % 5}",
                "ttft_ms": _ttft(prompt - cached, rng),
                "response": {
                    "type": "response.completed",
                    "response": {
                        "id": f"resp_demo_{session}_{question}",
                        "model": "gpt-5.1",
                        "usage": {
                            "input_tokens": prompt,
                            "input_tokens_details": {"cached_tokens": cached},
                            "output_tokens": rng.randint(150, 500),
                        },
                    },
                },
            }


def _agent(start: datetime, hours: int, seed: int) -> Iterator[dict[str, Any]]:
    """A research agent whose tool definitions are cached with a 1-hour TTL between runs."""
    first = _slot(start, 30)
    tools = 8_000
    for run in range(first, first + hours * 2):
        rng = _rng(seed, "agent", run)
        at = start + timedelta(minutes=(run - first) * 30 + rng.randint(0, 4))
        context = 0
        for step in range(rng.randint(4, 9)):
            new = rng.randint(300, 1_500)
            # A daily deploy re-writes the tools with a 1-hour TTL; runs read them in between.
            long_write = tools if run % 48 == 0 and step == 0 else 0
            read = (tools if long_write == 0 else 0) + context
            yield {
                "provider": "anthropic",
                "model": "claude-opus-4-5",
                "request_id": f"demo-agent-{run}-{step}",
                "occurred_at": (at + timedelta(seconds=step * rng.randint(20, 60))).isoformat(),
                "app": "research-agent",
                "team": "research",
                "environment": "production",
                "prompt_cache_key": "agent-tools-v4",
                "ttft_ms": _ttft(new + long_write, rng),
                "usage": {
                    "input_tokens": 20,
                    "cache_read_input_tokens": read,
                    "cache_creation_input_tokens": long_write + new,
                    "cache_creation": {
                        "ephemeral_1h_input_tokens": long_write,
                        "ephemeral_5m_input_tokens": new,
                    },
                    "output_tokens": rng.randint(100, 600),
                },
            }
            context += new


def _classifier(start: datetime, hours: int, seed: int) -> Iterator[dict[str, Any]]:
    """Short ticket-classification prompts: always below the 1,024-token minimum."""
    first = _slot(start, 5)
    for n in range(first, first + hours * 12):
        rng = _rng(seed, "classify", n)
        at = start + timedelta(minutes=(n - first) * 5 + rng.randint(0, 4))
        prompt = rng.randint(300, 900)
        yield {
            "provider": "openai",
            "request_id": f"demo-classify-{n}",
            "occurred_at": at.isoformat(),
            "app": "ticket-classifier",
            "team": "customer-experience",
            "environment": "production",
            "prompt_cache_key": "classifier-v2",
            "ttft_ms": _ttft(prompt, rng),
            "usage": {"prompt_tokens": prompt, "completion_tokens": 5},
            "model": "gpt-4.1-mini",
        }


def demo_caches(now: datetime, days: int) -> list[dict[str, Any]]:
    """One Gemini explicit cache a day for the summariser: 50k tokens kept for 6 hours."""
    end = now.replace(minute=0, second=0, microsecond=0)
    caches = []
    for day in range(days):
        created = (end - timedelta(days=days - day)).replace(hour=6)
        caches.append(
            {
                "app": "search-summaries",
                "team": "search",
                "environment": "production",
                "cache": {
                    "name": f"cachedContents/demo-{created:%Y%m%d}",
                    "model": "models/gemini-2.5-flash",
                    "createTime": created.isoformat(),
                    "expireTime": (created + timedelta(hours=6)).isoformat(),
                    "usageMetadata": {"totalTokenCount": 50_000},
                },
            }
        )
    return caches


def _summariser(start: datetime, hours: int, seed: int) -> Iterator[dict[str, Any]]:
    first = _slot(start, 30)
    for n in range(first, first + hours * 2):
        rng = _rng(seed, "summary", n)
        at = start + timedelta(minutes=(n - first) * 30 + rng.randint(0, 20))
        prompt = rng.randint(2_000, 9_000)
        cached = rng.choice([0, 0, 1_024, 2_048]) if prompt > 2_100 else 0
        yield {
            "provider": "google",
            "request_id": f"demo-summary-{n}",
            "occurred_at": at.isoformat(),
            "app": "search-summaries",
            "team": "search",
            "environment": "production",
            "ttft_ms": _ttft(prompt - cached, rng),
            "response": {
                "responseId": f"gem-demo-{n}",
                "modelVersion": "gemini-2.5-flash",
                "usageMetadata": {
                    "promptTokenCount": prompt,
                    "cachedContentTokenCount": cached,
                    "candidatesTokenCount": rng.randint(100, 300),
                    "thoughtsTokenCount": rng.randint(0, 400),
                },
            },
        }


def _analytics(start: datetime, hours: int, seed: int) -> Iterator[dict[str, Any]]:
    first = _slot(start, 60)
    for n in range(first, first + hours):
        rng = _rng(seed, "analytics", n)
        at = start + timedelta(hours=n - first, minutes=rng.randint(0, 59))
        prompt = rng.randint(4_000, 20_000)
        hit = int(prompt * rng.uniform(0.6, 0.95)) // 64 * 64
        yield {
            "provider": "deepseek",
            "request_id": f"demo-analytics-{n}",
            "occurred_at": at.isoformat(),
            "app": "analytics-agent",
            "team": "data",
            "environment": "staging",
            "ttft_ms": _ttft(prompt - hit, rng),
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": rng.randint(200, 800),
                "prompt_cache_hit_tokens": hit,
                "prompt_cache_miss_tokens": prompt - hit,
            },
            "model": "deepseek-chat",
        }


def demo_records(now: datetime, days: int, seed: int = 7) -> list[dict[str, Any]]:
    """Push records for `days` days ending at `now` (hour-aligned, so reloads match)."""
    end = now.replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    hours = days * 24
    # The prompt change lands at midnight UTC of the day before the last one.
    change_at = end.replace(hour=0) - timedelta(days=1)
    records = [
        *_support_chats(start, hours, seed),
        *_code_review(start, hours, change_at, seed),
        *_summariser(start, hours, seed),
        *_analytics(start, hours, seed),
        *_doc_qa(start, hours, seed),
        *_agent(start, hours, seed),
        *_classifier(start, hours, seed),
    ]
    return [r for r in records if datetime.fromisoformat(r["occurred_at"]) < end]


def load_demo(
    ingestor: Ingestor, engine: Engine, *, tenant_name: str, days: int, now: datetime
) -> dict[str, int]:
    """Ingest the demo traffic for `tenant_name`; returns the ingest totals."""
    with engine.begin() as conn:
        tenant = ensure_tenant(conn, tenant_name)
    totals = {"accepted": 0, "duplicates": 0, "rejected": 0}
    records = sorted(demo_records(now, days), key=lambda r: str(r["occurred_at"]))
    for i in range(0, len(records), 500):
        result = ingestor.ingest(tenant, records[i : i + 500], source="demo", received_at=now)
        totals["accepted"] += result.accepted
        totals["duplicates"] += result.duplicates
        totals["rejected"] += len(result.rejected)
    caches = ingestor.ingest_caches(tenant, demo_caches(now, days), now)
    totals["rejected"] += len(caches["rejected"])
    # Replay regression checks every 30 minutes over the loaded period (after a day of
    # baseline), as a running service would have done, so the prefix regression shows. Demo
    # traffic is sparse (a request every few minutes per app), hence a 2-hour window.
    config = DetectorConfig(window_minutes=120)
    at = now.replace(minute=0, second=0, microsecond=0) - timedelta(days=days - 1)
    opened = 0
    while at <= now:
        opened += sum(
            1 for action, _ in check_regressions(engine, at, config) if action == "opened"
        )
        at += timedelta(minutes=30)
    totals["regressions_opened"] = opened
    return totals
