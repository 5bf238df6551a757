"""The cache advisor (issue 22) on hand-built scenarios, one per kind of advice, a mixed day,
a healthy app, and the CLI. Every expected number is worked out by hand below, from the rules
in cache/advice.py's docstring and the catalogue prices the `priced` fixture adds; none was
taken from the program's output.

Spec points each test checks:

- test_add_cache_control_with_the_defaults: `add_cache_control` (H*m*(in - rd) -
  W*m*(wr - in)); warm = gap <= TTL (300 s counts, 301 s does not); the group's first request
  has no previous one; a warm request whose prefix hash changed is a W; the default
  min_saving (1) and min_requests (20) and their echo; monthly = in-range x 30 days / span.
- test_use_prompt_cache_key: `use_prompt_cache_key` (WM*c*(in - rd), c = the prefix's
  smallest read), erratic = WM >= a tenth of the warm requests; OpenAI TTL 600 s.
- test_prefix_changes_over_the_range: `prefix_changes` over the whole range (N*c*(in - rd),
  c = m where the group read nothing); "input" is the TOTAL input (uncached + written), so
  Claude requests of 300 uncached + 4,000 written tokens are above the 1,024 minimum; a
  3-day range scales by 10, even though the group's own last 24 hours show the pattern too.
- test_prefix_changes_in_the_last_24_hours: `prefix_changes` when only the last 24 hours show
  it: the last day's N times 30 days, whatever the range (30 days here).
- test_below_minimum_under_a_dollar_is_hidden_by_default: `below_minimum`
  (H*(s*in - m*rd) + W*(s*in - m*wr), s = half the shortest), m/2 inclusive, m exclusive; a
  finding under 1 USD a month is not shown with the default min_saving, and min_saving
  moves the line.
- test_use_1h_ttl_and_its_losing_prefix: `use_1h_ttl` (minus the 1-hour what-if: hits move
  from the write to the read rate, other 5-minute writes pay the 1-hour rate; 1-hour writes
  are left alone) and `losing_prefix` of the same prefix (negative net savings as billed);
  per-prefix rollups keyed by prefix_hash; half-even rounding to cents (20.025 -> 20.02,
  5.625 -> 5.62); ordering by monthly saving.
- test_losing_prefix: `losing_prefix` alone (writes over an hour apart: no 1-hour what-if
  hit, so no `use_1h_ttl`); a 2-day range scales by 15.
- test_ttl_too_short: `ttl_too_short` (E*c*(in - rd)): after the TTL (601 s counts, 600 s is
  still warm) and within the hour (3,600 s counts, 3,601 s does not); c = the group's
  smallest read.
- test_model_does_not_cache: `model_does_not_cache` ((I*in + O*out) - (I*in_s + O*out_s -
  H*m*(in_s - rd_s))); the sibling: same family, caching, longest shared name, then the
  nearest input price; m is the sibling's minimum (StepFun: 256).
- test_min_requests: a finding resting on fewer than the default 20 requests is hidden;
  min_requests moves the line.
- test_healthy_app_gets_no_advice: a caching app gets nothing, at the defaults or at any
  threshold.
- test_a_mixed_day: all of the above side by side on one day: each app's findings are its
  own (groups and prefixes are per app), ordered by monthly saving, and `app` filters.
- test_cli_prints_a_table_and_the_json_body / test_cli_refuses_end_before_start /
  test_api_names_the_bad_field: `cachemeter report advice` and the API's 422s.

Prices (per MTok, USD), as published: Claude Sonnet 4.5 3 in, 0.30 cache read, 3.75 5-minute
write, 6 1-hour write, 15 out; GPT-4.1 mini 0.40 in, 0.10 cached, 1.60 out (no write price:
writes at the input rate). StepFun prices are this test's own (see `priced`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import accumulate
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from billing.catalogue import PriceSpec
from cachemeter.cli.main import main
from store.models import UsageEvent
from store.prices import add_price

DAY = datetime(2026, 11, 20, tzinfo=UTC)  # every one-day scenario: [DAY, DAY + 1 day)
SONNET = "claude-sonnet-4-5"
MINI = "gpt-4.1-mini"


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _times(first: datetime, gaps: Iterable[int]) -> list[datetime]:
    """The first time, then each gap (seconds) after the previous one."""
    return [first + timedelta(seconds=s) for s in accumulate([0, *gaps])]


def claude(
    app: str,
    rid: str,
    at: datetime,
    *,
    plain: int,
    read: int = 0,
    write: int = 0,
    write_1h: int = 0,
    output: int = 100,
    prefix: str | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """A Claude Sonnet 4.5 request (Anthropic usage: input_tokens excludes the cache)."""
    usage: dict[str, Any] = {
        "input_tokens": plain,
        "cache_read_input_tokens": read,
        "cache_creation_input_tokens": write + write_1h,
        "output_tokens": output,
    }
    if write_1h:
        usage["cache_creation"] = {
            "ephemeral_5m_input_tokens": write,
            "ephemeral_1h_input_tokens": write_1h,
        }
    record: dict[str, Any] = {
        "provider": "anthropic",
        "model": SONNET,
        "request_id": f"{app}-{rid}",
        "occurred_at": _iso(at),
        "app": app,
        "usage": usage,
    }
    if prefix is not None:
        record["prefix_hash"] = prefix
    if key is not None:
        record["prompt_cache_key"] = key
    return record


def gpt(
    app: str,
    rid: str,
    at: datetime,
    *,
    prompt: int,
    cached: int = 0,
    output: int = 100,
    prefix: str | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """A GPT-4.1 mini request (OpenAI usage: prompt_tokens includes the cached ones)."""
    record: dict[str, Any] = {
        "provider": "openai",
        "model": MINI,
        "request_id": f"{app}-{rid}",
        "occurred_at": _iso(at),
        "app": app,
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": output,
            "prompt_tokens_details": {"cached_tokens": cached},
        },
    }
    if prefix is not None:
        record["prefix_hash"] = prefix
    if key is not None:
        record["prompt_cache_key"] = key
    return record


@pytest.fixture
def priced(engine: Engine) -> None:
    """Catalogue prices (all tenants), so that every rate in the arithmetic is written here."""
    specs = [
        PriceSpec(
            provider="anthropic",
            model=SONNET,
            input_mtok=Decimal("3"),
            cache_read_mtok=Decimal("0.30"),
            cache_write_mtok=Decimal("3.75"),
            cache_write_1h_mtok=Decimal("6"),
            output_mtok=Decimal("15"),
        ),
        PriceSpec(
            provider="openai",
            model=MINI,
            input_mtok=Decimal("0.40"),
            cache_read_mtok=Decimal("0.10"),
            output_mtok=Decimal("1.60"),
        ),
        # StepFun, this test's own prices: step-3 and step-3-turbo have no cache discount
        # (no read price: reads at the input rate); step-1-8k and step-2-16k cache.
        PriceSpec(
            provider="stepfun", model="step-3", input_mtok=Decimal("1.50"), output_mtok=Decimal(4)
        ),
        PriceSpec(
            provider="stepfun",
            model="step-3-turbo",
            input_mtok=Decimal("1.20"),
            output_mtok=Decimal(3),
        ),
        PriceSpec(
            provider="stepfun",
            model="step-1-8k",
            input_mtok=Decimal("0.70"),
            cache_read_mtok=Decimal("0.14"),
            output_mtok=Decimal("2.80"),
        ),
        PriceSpec(
            provider="stepfun",
            model="step-2-16k",
            input_mtok=Decimal(5),
            cache_read_mtok=Decimal(1),
            output_mtok=Decimal(20),
        ),
    ]
    with engine.begin() as conn:
        for spec in specs:
            add_price(conn, spec)


def ingest(client: TestClient, auth: dict[str, str], records: Sequence[dict[str, Any]]) -> None:
    response = client.post("/v1/usage", json={"records": list(records)}, headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(records), response.text


def advice(
    client: TestClient,
    auth: dict[str, str],
    start: datetime = DAY,
    end: datetime = DAY + timedelta(days=1),
    **params: str | int,
) -> dict[str, Any]:
    query = {"start": start.isoformat(), "end": end.isoformat(), **params}
    response = client.get("/v1/reports/advice", params=query, headers=auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert isinstance(body["notes"], list)
    return body


def kinds(body: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    """(kind, app, monthly saving) of each finding, in the body's order."""
    return [(f["kind"], f["app"], f["monthly_saving"]) for f in body["findings"]]


def only(body: dict[str, Any], kind: str) -> dict[str, Any]:
    found = [f for f in body["findings"] if f["kind"] == kind]
    assert len(found) == 1, body["findings"]
    return dict(found[0])


def money(finding: dict[str, Any], in_range: str, monthly: str) -> None:
    assert finding["currency"] == "USD"
    assert finding["saving_in_range"] == in_range
    assert finding["monthly_saving"] == monthly


# Scenario records. Each app is a group (or prefix) of its own, so they can share a day.


def support_records(day: datetime = DAY) -> list[dict[str, Any]]:
    """add_cache_control: 25 Claude requests of 5,000 tokens, nothing marked for caching.

    Gaps before requests 1..24 (seconds); TTL 300 s:
      1-5: 60 (warm) | 6: 301 (cold: just over) | 7-11: 60 (warm) |
      12: 60, warm but the prefix hash changes sys-a -> sys-b (a would-be write) |
      13: 300 (warm: exactly the TTL) | 14-16: 60 | 17: 3,600 (cold) | 18-21: 60 |
      22: 7,200 (cold) | 23-24: 60.
    Warm with the prefix unchanged: 5 + 5 + 1 (the 300) + 3 + 4 + 2 = H = 20.
    The rest: request 0 (no previous), 6, 17, 22 (cold) and 12 (new prefix): W = 5.
    """
    gaps = [60] * 5 + [301] + [60] * 5 + [60] + [300] + [60] * 3 + [3600] + [60] * 4
    gaps += [7200] + [60] * 2
    assert len(gaps) == 24
    times = _times(day.replace(hour=9), gaps)
    return [
        claude("support", str(i), at, plain=5000, output=200, prefix="sys-a" if i < 12 else "sys-b")
        for i, at in enumerate(times)
    ]


# m = 1,024 (Claude Sonnet 4.5); in - rd = 3 - 0.30 = 2.70; wr - in = 3.75 - 3 = 0.75.
# H*m*(in - rd) = 20 x 1,024 x 2.70 = 55,296; W*m*(wr - in) = 5 x 1,024 x 0.75 = 3,840.
# (55,296 - 3,840) / 1e6 = 0.051456 USD in one day; x 30 = 1.54368 -> 1.54 a month.
SUPPORT = ("0.051456", "1.54")


def search_records(day: datetime = DAY) -> list[dict[str, Any]]:
    """use_prompt_cache_key: 30 GPT-4.1 mini requests of one prefix, no prompt_cache_key,
    30 s apart (all within the 600 s TTL but the first), 40,000 prompt tokens each.

    Request 0 reads nothing (it has no previous request). Of the 29 warm ones, 9 read nothing
    (3, 6, ..., 27: WM = 9) and 20 read: 36,864 tokens, but request 10 only 32,768 (c).
    """
    misses = set(range(3, 30, 3))
    assert len(misses) == 9
    records = []
    for i, at in enumerate(_times(day.replace(hour=10), [30] * 29)):
        cached = 0 if i == 0 or i in misses else 32_768 if i == 10 else 36_864
        records.append(gpt("search", str(i), at, prompt=40_000, cached=cached, prefix="search-sys"))
    return records


# WM = 9 >= 29 / 10 = 2.9: erratic. c = 32,768; in - rd = 0.40 - 0.10 = 0.30.
# 9 x 32,768 x 0.30 = 88,473.6 -> 0.0884736 USD in one day; x 30 = 2.654208 -> 2.65.
SEARCH = ("0.0884736", "2.65")


def chat_records(day: datetime = DAY) -> list[dict[str, Any]]:
    """prefix_changes: 21 Claude requests 60 s apart, each starting with a new prefix hash
    (a timestamp in the system prompt), each writing it: 300 uncached + 4,000 written tokens,
    nothing read. Their total input is 4,300 >= 1,024 (the 300 alone is not)."""
    times = _times(day.replace(hour=10), [60] * 20)
    return [
        claude("chat", str(i), at, plain=300, write=4000, prefix=f"chat-{i:02}")
        for i, at in enumerate(times)
    ]


# 20 requests follow one with a prefix hash, all 20 with a new one (>= half); all 20 warm
# (60 s <= 300 s), >= m input, nothing read: N = 20. The group read nothing: c = m = 1,024.
# 20 x 1,024 x (3 - 0.30) = 55,296 -> 0.055296 USD over the 3-day range [Nov 19, Nov 22);
# x 30 / 3 = 0.55296 -> 0.55 a month.
CHAT = ("0.055296", "0.55")


def agent_records() -> list[dict[str, Any]]:
    """prefix_changes, recent: an agent (GPT-4.1 mini, prompt_cache_key "agent") stable all
    month, whose prompt started changing on its last day (the range is November).

    Nov 10 09:00: 40 requests 60 s apart of prefix agent-v1, 20,000 prompt tokens; the first
    reads nothing, the other 39 read 16,384 (the group's smallest read: c).
    Nov 30 12:00: one more of agent-v1 (reads nothing: 20 days cold, not within the hour).
    Nov 30 12:01 + i minutes, i = 0..19: 20 requests each of a new prefix agent-v2-i, warm
    (60 s <= 600 s), 20,000 prompt tokens, nothing read.
    """
    stable = _times(datetime(2026, 11, 10, 9, tzinfo=UTC), [60] * 39)
    records = [
        gpt("agent", f"s{i}", at, prompt=20_000, cached=0 if i == 0 else 16_384, prefix="agent-v1")
        for i, at in enumerate(stable)
    ]
    last_day = datetime(2026, 11, 30, 12, tzinfo=UTC)
    records.append(gpt("agent", "again", last_day, prompt=20_000, prefix="agent-v1"))
    for i, at in enumerate(_times(last_day + timedelta(minutes=1), [60] * 19)):
        records.append(gpt("agent", f"n{i}", at, prompt=20_000, prefix=f"agent-v2-{i}"))
    for record in records:
        record["prompt_cache_key"] = "agent"
    return records


# Over the month: 39 + 1 + 20 = 60 requests follow one with a prefix hash, 20 with a new one:
# under half, no pattern. Over the last 24 hours (the group's, ending Nov 30 12:20, or the
# range's, from Nov 30 00:00: the same 21 requests): the 20 new ones are at least half of
# the 20 (or 21, counting agent-v1 again, whose previous is older) that follow one.
# N = 20 (all warm, >= m, read nothing); c = 16,384.
# 20 x 16,384 x (0.40 - 0.10) = 98,304 -> 0.098304 USD on that day; x 30 days = 2.94912 ->
# 2.95 a month (not 0.10: the 30-day range would scale it by 1).
AGENT = ("0.098304", "2.95")


def classify_records(day: datetime = DAY) -> list[dict[str, Any]]:
    """below_minimum: a classifier's short Claude prompts, nothing marked for caching.

    10:00, 60 s apart: 512 (exactly m/2), 14 x 800, 1,023 (just under m), then 511 (under
    m/2: not counted). 12:00, 60 s apart: 15 x 800.
    Counted: 16 + 15 = 31, shortest 512, longest 1,023. Warm: all but the first of each
    burst (the second burst's first came ~1 h 44 min after the 511): H = 29, W = 2.
    """
    first = [512] + [800] * 14 + [1023, 511]
    records = [
        claude("classify", f"a{i}", at, plain=n, output=5)
        for i, (n, at) in enumerate(
            zip(first, _times(day.replace(hour=10), [60] * 16), strict=True)
        )
    ]
    records += [
        claude("classify", f"b{i}", at, plain=800, output=5)
        for i, at in enumerate(_times(day.replace(hour=12), [60] * 14))
    ]
    return records


# s = 512 / 2 = 256 tokens taken as stable; m = 1,024.
# Hit: s*in - m*rd = 256 x 3 - 1,024 x 0.30 = 768 - 307.2 = 460.8.
# Write: s*in - m*wr = 768 - 1,024 x 3.75 = 768 - 3,840 = -3,072.
# 29 x 460.8 - 2 x 3,072 = 13,363.2 - 6,144 = 7,219.2 -> 0.0072192 USD in one day;
# x 30 = 0.216576 -> 0.22 a month: under the default min_saving of 1.
CLASSIFY = ("0.0072192", "0.22")


def kb_records(day: datetime = DAY) -> list[dict[str, Any]]:
    """use_1h_ttl and losing_prefix: a knowledge-base prefix written for 5 minutes every 20
    minutes, never read (each write expired before the next request).

    02:00 + 20 i minutes, i = 0..20: 200 uncached + 10,000 written (5-minute TTL).
    09:00 (20 minutes after the last): 200 uncached + 10,000 written with a 1-hour TTL.
    """
    times = _times(day.replace(hour=2), [1200] * 21)
    records = [
        claude("kb", str(i), at, plain=200, write=10_000, prefix="kb-docs")
        for i, at in enumerate(times[:21])
    ]
    records.append(claude("kb", "1h", times[21], plain=200, write_1h=10_000, prefix="kb-docs"))
    return records


# 1-hour what-if: request 0 has no previous use (none in the hour before it either): it
# would still write, 10,000 rewrite tokens. Requests 1..20 came 1,200 s (5-60 min) after the
# previous use: 20 hits, 200,000 hit tokens. The 1-hour write is not a 5-minute write.
# Bill change: 200,000 x (0.30 - 3.75) + 10,000 x (6 - 3.75) = -690,000 + 22,500 = -667,500
# -> -0.6675: a saving of 0.6675 USD in one day; x 30 = 20.025 -> 20.02 (half-even).
KB_1H = ("0.6675", "20.02")
# Net savings as billed (no-cache cost - cost): each 5-minute write 10,000 x (3 - 3.75) =
# -0.0075, x 21 = -0.1575; the 1-hour write 10,000 x (3 - 6) = -0.03. Total -0.1875: not
# caching saves 0.1875 USD in one day; x 30 = 5.625 -> 5.62 (half-even).
KB_LOSING = ("0.1875", "5.62")


def nightly_records() -> list[dict[str, Any]]:
    """losing_prefix: a digest job every 2 hours over two days (Nov 19 00:30 to Nov 20 22:30,
    24 requests): 1,000 uncached + 8,000 written (5 minutes), never read."""
    times = _times(datetime(2026, 11, 19, 0, 30, tzinfo=UTC), [7200] * 23)
    return [
        claude("nightly", str(i), at, plain=1000, write=8000, output=500, prefix="digest")
        for i, at in enumerate(times)
    ]


# Each: 8,000 x (3 - 3.75) = -6,000 -> -0.006; x 24 = -0.144 over [Nov 19, Nov 21);
# x 30 / 2 = 2.16 a month. Gaps of 7,200 s > 1 hour: no 1-hour what-if hit, no use_1h_ttl.
NIGHTLY = ("0.144", "2.16")


def faq_records(day: datetime = DAY) -> list[dict[str, Any]]:
    """ttl_too_short: an FAQ bot (GPT-4.1 mini, prompt_cache_key "faq", one prefix) asked in
    pairs: a question that misses (30,000 prompt tokens, nothing cached), then a follow-up
    30 s later that hits (28,672 cached; the 11th pair's only 24,576: c).

    Gaps from a pair's follow-up to the next pair's question (22 of them; TTL 600 s):
    18 x 1,170 (after the TTL, within the hour: expired), 600 (still warm: not expired),
    601 (expired), 3,600 (within the hour: expired), 3,601 (not within the hour).
    E = 18 + 2 = 20. The first question has no previous request.
    """
    gaps = [1170] * 9 + [600, 601] + [1170] * 9 + [3600, 3601]
    assert len(gaps) == 22
    records = []
    at = day.replace(hour=6)
    for i in range(23):
        if i:
            at += timedelta(seconds=gaps[i - 1])
        records.append(gpt("faq", f"q{i}", at, prompt=30_000, prefix="faq-v3", key="faq"))
        at += timedelta(seconds=30)
        hit = 24_576 if i == 10 else 28_672
        records.append(
            gpt("faq", f"f{i}", at, prompt=30_000, cached=hit, prefix="faq-v3", key="faq")
        )
    return records


# 20 x 24,576 x (0.40 - 0.10) = 147,456 -> 0.147456 USD in one day; x 30 = 4.42368 -> 4.42.
FAQ = ("0.147456", "4.42")


def ocr_records(day: datetime = DAY) -> list[dict[str, Any]]:
    """model_does_not_cache: 25 StepFun step-3 requests 60 s apart, 2,000 prompt tokens and
    500 completion tokens each."""
    return [
        {
            "provider": "stepfun",
            "model": "step-3",
            "request_id": f"ocr-{i}",
            "occurred_at": _iso(at),
            "app": "ocr",
            "usage": {"prompt_tokens": 2000, "completion_tokens": 500},
        }
        for i, at in enumerate(_times(day.replace(hour=11), [60] * 24))
    ]


# Siblings of step-3 that cache: step-1-8k and step-2-16k share "step-" (5 characters) with
# it; step-3-turbo shares more ("step-3") but does not cache. Of the two, the nearest input
# price to step-3's 1.50: step-1-8k (|0.70 - 1.50| = 0.80 < |5 - 1.50| = 3.50).
# I = 25 x 2,000 = 50,000; O = 25 x 500 = 12,500; H = 24 warm (60 s <= 300 s, >= 256).
# Now: 50,000 x 1.50 + 12,500 x 4 = 75,000 + 50,000 = 125,000.
# At step-1-8k: 50,000 x 0.70 + 12,500 x 2.80 - 24 x 256 x (0.70 - 0.14)
#   = 35,000 + 35,000 - 3,440.64 = 66,559.36.
# 125,000 - 66,559.36 = 58,440.64 -> 0.05844064 USD in one day; x 30 = 1.7532192 -> 1.75.
OCR = ("0.05844064", "1.75")


def batch_records(day: datetime = DAY) -> list[dict[str, Any]]:
    """add_cache_control on too few requests: 15 Claude requests of 50,000 tokens, 60 s
    apart, nothing marked: H = 14, W = 1."""
    times = _times(day.replace(hour=15), [60] * 14)
    return [claude("batch", str(i), at, plain=50_000) for i, at in enumerate(times)]


# 14 x 1,024 x 2.70 - 1 x 1,024 x 0.75 = 38,707.2 - 768 = 37,939.2 -> 0.0379392 USD;
# x 30 = 1.138176 -> 1.14 a month: above 1 USD, but 15 < 20 requests.
BATCH = ("0.0379392", "1.14")


def healthy_records(day: datetime = DAY) -> list[dict[str, Any]]:
    """An app that caches well: Claude with cache_control (one write, then reads every
    minute; 2 hours idle, one write again, reads) and GPT-4.1 mini with a prompt_cache_key
    (a first miss, then hits every minute)."""
    records = []
    morning = _times(day.replace(hour=8), [60] * 29)
    afternoon = _times(day.replace(hour=8) + timedelta(seconds=29 * 60 + 7200), [60] * 9)
    for i, at in enumerate([*morning, *afternoon]):
        write = 10_000 if i in (0, 30) else 0
        records.append(
            claude(
                "healthy", f"c{i}", at, plain=500, read=10_000 - write, write=write, prefix="h-sys"
            )
        )
    for i, at in enumerate(_times(day.replace(hour=13), [60] * 29)):
        records.append(
            gpt(
                "healthy",
                f"o{i}",
                at,
                prompt=12_000,
                cached=0 if i == 0 else 11_264,
                prefix="h-oa",
                key="healthy",
            )
        )
    return records


def billed(engine: Engine, app: str) -> tuple[int, int, Decimal | None]:
    """(requests, total input tokens, net savings) of an app's stored events: the setup
    means what the comments say, whatever the advisor does."""
    e = UsageEvent
    with engine.connect() as conn:
        n, tokens, savings = conn.execute(
            select(func.count(), func.sum(e.input_tokens), func.sum(e.savings)).where(e.app == app)
        ).one()
    return int(n), int(tokens), savings


# The tests.


def test_add_cache_control_with_the_defaults(
    client: TestClient, engine: Engine, auth: dict[str, str], priced: None
) -> None:
    ingest(client, auth, support_records())
    assert billed(engine, "support") == (25, 125_000, Decimal(0))
    body = advice(client, auth)
    assert (body["min_saving"], body["min_requests"]) == ("1", 20)
    assert datetime.fromisoformat(body["start"]) == DAY
    assert datetime.fromisoformat(body["end"]) == DAY + timedelta(days=1)
    assert kinds(body) == [("add_cache_control", "support", SUPPORT[1])]
    finding = only(body, "add_cache_control")
    money(finding, *SUPPORT)
    assert (finding["provider"], finding["model"]) == ("anthropic", SONNET)
    assert (finding["prompt_cache_key"], finding["prefix"]) == (None, None)
    assert finding["requests"] == 25
    evidence = finding["evidence"]
    assert (evidence["would_hit"], evidence["would_write"], evidence["minimum_tokens"]) == (
        20,
        5,
        1024,
    )
    assert finding["recommendation"] and finding["explanation"]


def test_the_first_requests_of_a_range_have_their_previous_one(
    client: TestClient, auth: dict[str, str], priced: None
) -> None:
    """A range starting at request 1 of `support_records`: request 0, 60 s before the start,
    is still request 1's previous one, so request 1 is warm. In the range: requests 1..24;
    H = 20 as over the whole day (requests 1-5, 7-11, 13, 14-16, 18-21, 23-24) and W = 4
    (6, 17 and 22 cold, 12 a new prefix): 20 x 1,024 x 2.70 - 4 x 1,024 x 0.75 = 55,296 -
    3,072 = 52,224 -> 0.052224 USD. The range is 09:01 to midnight, 53,940 s: x 2,592,000 /
    53,940 = 2.5095... -> 2.51 a month. (Looking only inside the range, request 1 would have
    had no previous request: H = 19, W = 5.)"""
    ingest(client, auth, support_records())
    start = DAY.replace(hour=9, minute=1)
    finding = only(advice(client, auth, start=start), "add_cache_control")
    assert finding["requests"] == 24
    evidence = finding["evidence"]
    assert (evidence["would_hit"], evidence["would_write"]) == (20, 4)
    money(finding, "0.052224", "2.51")


def test_use_prompt_cache_key(client: TestClient, auth: dict[str, str], priced: None) -> None:
    ingest(client, auth, search_records())
    body = advice(client, auth)
    assert kinds(body) == [("use_prompt_cache_key", "search", SEARCH[1])]
    finding = only(body, "use_prompt_cache_key")
    money(finding, *SEARCH)
    assert (finding["provider"], finding["model"]) == ("openai", MINI)
    assert (finding["prefix"], finding["prompt_cache_key"]) == ("search-sys", None)
    # It rests on the 29 warm requests of the prefix (9 misses alone would be under 20).
    assert finding["requests"] == 29
    evidence = finding["evidence"]
    assert (evidence["warm_misses"], evidence["warm_hits"], evidence["cached_tokens"]) == (
        9,
        20,
        32_768,
    )


def test_prefix_changes_over_the_range(
    client: TestClient, engine: Engine, auth: dict[str, str], priced: None
) -> None:
    ingest(client, auth, chat_records())
    # Stored total input: 21 x (300 + 4,000); the rules read this, not the 300 uncached.
    assert billed(engine, "chat")[:2] == (21, 21 * 4300)
    start, end = datetime(2026, 11, 19, tzinfo=UTC), datetime(2026, 11, 22, tzinfo=UTC)
    assert advice(client, auth, start, end)["findings"] == []  # 0.55 < 1
    body = advice(client, auth, start, end, min_saving="0.5")
    # Each prefix has a single request: its losing write (-0.003) rests on 1 < 20 requests.
    assert kinds(body) == [("prefix_changes", "chat", CHAT[1])]
    finding = only(body, "prefix_changes")
    money(finding, *CHAT)
    assert finding["requests"] == 20
    evidence = finding["evidence"]
    assert (evidence["would_hit"], evidence["cached_tokens"], evidence["window"]) == (
        20,
        1024,
        "range",
    )


def test_prefix_changes_in_the_last_24_hours(
    client: TestClient, auth: dict[str, str], priced: None
) -> None:
    ingest(client, auth, agent_records())
    november = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    body = advice(client, auth, *november)
    assert kinds(body) == [("prefix_changes", "agent", AGENT[1])]
    finding = only(body, "prefix_changes")
    money(finding, *AGENT)
    assert (finding["prompt_cache_key"], finding["requests"]) == ("agent", 20)
    evidence = finding["evidence"]
    assert (evidence["new_prefix"], evidence["would_hit"], evidence["cached_tokens"]) == (
        20,
        20,
        16_384,
    )
    assert evidence["window"] == "last 24 hours"


def test_below_minimum_under_a_dollar_is_hidden_by_default(
    client: TestClient, auth: dict[str, str], priced: None
) -> None:
    ingest(client, auth, classify_records())
    assert advice(client, auth)["findings"] == []
    body = advice(client, auth, min_saving="0.2")
    assert Decimal(body["min_saving"]) == Decimal("0.2")
    assert kinds(body) == [("below_minimum", "classify", CLASSIFY[1])]
    finding = only(body, "below_minimum")
    money(finding, *CLASSIFY)
    assert finding["requests"] == 31
    evidence = finding["evidence"]
    assert (evidence["would_hit"], evidence["would_write"], evidence["stable_tokens"]) == (
        29,
        2,
        256,
    )
    assert advice(client, auth, min_saving="0.23")["findings"] == []  # 0.22 < 0.23


def test_use_1h_ttl_and_its_losing_prefix(
    client: TestClient, engine: Engine, auth: dict[str, str], priced: None
) -> None:
    ingest(client, auth, kb_records())
    assert billed(engine, "kb") == (22, 22 * 10_200, Decimal("-0.1875"))
    body = advice(client, auth)
    # One answer per prefix: the 1-hour TTL saves 20.02 a month, not caching it at all 5.62
    # (its losses, KB_LOSING): the prefix pays with a 1-hour TTL, so that is the advice.
    assert Decimal(KB_1H[1]) > Decimal(KB_LOSING[1])
    assert kinds(body) == [("use_1h_ttl", "kb", KB_1H[1])]
    (one_hour,) = body["findings"]
    money(one_hour, *KB_1H)
    assert (one_hour["prefix"], one_hour["provider"], one_hour["model"]) == (
        "kb-docs",
        "anthropic",
        SONNET,
    )
    assert one_hour["requests"] == 22  # every request of the prefix
    evidence = one_hour["evidence"]
    assert (evidence["would_hit"], evidence["hit_tokens"], evidence["rewrite_tokens"]) == (
        20,
        200_000,
        10_000,
    )


def test_losing_prefix(
    client: TestClient, engine: Engine, auth: dict[str, str], priced: None
) -> None:
    ingest(client, auth, nightly_records())
    assert billed(engine, "nightly")[2] == Decimal("-0.144")
    two_days = (datetime(2026, 11, 19, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC))
    body = advice(client, auth, *two_days)
    assert kinds(body) == [("losing_prefix", "nightly", NIGHTLY[1])]
    finding = only(body, "losing_prefix")
    money(finding, *NIGHTLY)
    assert (finding["prefix"], finding["requests"]) == ("digest", 24)


def test_ttl_too_short(client: TestClient, auth: dict[str, str], priced: None) -> None:
    ingest(client, auth, faq_records())
    body = advice(client, auth)
    assert kinds(body) == [("ttl_too_short", "faq", FAQ[1])]
    finding = only(body, "ttl_too_short")
    money(finding, *FAQ)
    assert (finding["provider"], finding["prompt_cache_key"]) == ("openai", "faq")
    assert finding["requests"] == 20
    assert (finding["evidence"]["would_hit"], finding["evidence"]["cached_tokens"]) == (
        20,
        24_576,
    )


def test_model_does_not_cache(client: TestClient, auth: dict[str, str], priced: None) -> None:
    ingest(client, auth, ocr_records())
    body = advice(client, auth)
    assert kinds(body) == [("model_does_not_cache", "ocr", OCR[1])]
    finding = only(body, "model_does_not_cache")
    money(finding, *OCR)
    assert (finding["provider"], finding["model"], finding["requests"]) == (
        "stepfun",
        "step-3",
        25,
    )
    evidence = finding["evidence"]
    assert (evidence["sibling"], evidence["would_hit"], evidence["minimum_tokens"]) == (
        "step-1-8k",
        24,
        256,
    )
    assert "step-1-8k" in finding["recommendation"]


def test_min_requests(client: TestClient, auth: dict[str, str], priced: None) -> None:
    ingest(client, auth, batch_records())
    assert advice(client, auth)["findings"] == []  # 1.14 a month, but on 15 < 20 requests
    body = advice(client, auth, min_requests=15)
    assert body["min_requests"] == 15
    assert kinds(body) == [("add_cache_control", "batch", BATCH[1])]
    money(only(body, "add_cache_control"), *BATCH)
    assert advice(client, auth, min_requests=16)["findings"] == []


def test_healthy_app_gets_no_advice(
    client: TestClient, engine: Engine, auth: dict[str, str], priced: None
) -> None:
    ingest(client, auth, healthy_records())
    # Saved as billed: Claude 38 reads x 10,000 x 2.70 = 1.026, 2 writes x 10,000 x -0.75 =
    # -0.015; GPT-4.1 mini 29 x 11,264 x 0.30 = 0.0979968. 1.1089968 in all.
    assert billed(engine, "healthy")[2] == Decimal("1.1089968")
    assert advice(client, auth)["findings"] == []
    # Not even a cent's worth on a single request: no rule applies at all.
    assert advice(client, auth, min_saving="0.01", min_requests=1)["findings"] == []


MIXED = [
    ("use_1h_ttl", "kb", KB_1H[1]),  # 20.02
    ("ttl_too_short", "faq", FAQ[1]),  # 4.42
    ("use_prompt_cache_key", "search", SEARCH[1]),  # 2.65
    ("model_does_not_cache", "ocr", OCR[1]),  # 1.75
    ("add_cache_control", "support", SUPPORT[1]),  # 1.54
    # Not shown at the defaults: below_minimum of classify (0.22 < 1), add_cache_control of
    # batch (15 < 20 requests); nothing for healthy.
]


def test_a_mixed_day(client: TestClient, auth: dict[str, str], priced: None) -> None:
    day = [
        *healthy_records(),
        *support_records(),
        *search_records(),
        *classify_records(),
        *kb_records(),
        *faq_records(),
        *ocr_records(),
        *batch_records(),
    ]
    ingest(client, auth, day)
    body = advice(client, auth)
    assert kinds(body) == MIXED
    # The same money as each scenario alone: groups and prefixes are per app.
    amounts = {(f["kind"], f["app"]): f["saving_in_range"] for f in body["findings"]}
    assert amounts[("use_1h_ttl", "kb")] == KB_1H[0]
    assert amounts[("add_cache_control", "support")] == SUPPORT[0]
    assert kinds(advice(client, auth, app="kb")) == MIXED[:1]
    assert advice(client, auth, app="healthy")["findings"] == []
    assert kinds(advice(client, auth, app="classify", min_saving="0.2")) == [
        ("below_minimum", "classify", CLASSIFY[1])
    ]
    # Lower thresholds add the two hidden ones, in their place: 1.14, then 0.22.
    everything = kinds(advice(client, auth, min_saving="0.2", min_requests=15))
    assert everything == [
        *MIXED,
        ("add_cache_control", "batch", BATCH[1]),
        ("below_minimum", "classify", CLASSIFY[1]),
    ]


RANGE = ["--start", DAY.isoformat(), "--end", (DAY + timedelta(days=1)).isoformat()]


def test_cli_prints_a_table_and_the_json_body(
    cli_db: str,
    client: TestClient,
    auth: dict[str, str],
    priced: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ingest(client, auth, [*support_records(), *faq_records()])
    assert main(["report", "advice", "--tenant", "acme", *RANGE]) == 0
    lines = capsys.readouterr().out.splitlines()
    faq = next(i for i, line in enumerate(lines) if "ttl_too_short" in line)
    support = next(i for i, line in enumerate(lines) if "add_cache_control" in line)
    assert faq < support  # 4.42 before 1.54
    assert "faq" in lines[faq] and FAQ[1] in lines[faq]
    assert "support" in lines[support] and SUPPORT[1] in lines[support]
    assert main(["report", "advice", "--tenant", "acme", *RANGE, "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == advice(client, auth)
    assert kinds(printed) == [
        ("ttl_too_short", "faq", FAQ[1]),
        ("add_cache_control", "support", SUPPORT[1]),
    ]


def test_cli_refuses_end_before_start(
    cli_db: str, auth: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    reversed_range = ["--start", "2026-11-21", "--end", "2026-11-20"]
    assert main(["report", "advice", "--tenant", "acme", *reversed_range]) == 2
    assert "--end" in capsys.readouterr().err


def test_api_names_the_bad_field(client: TestClient, auth: dict[str, str]) -> None:
    bad_start = client.get(
        "/v1/reports/advice", params={"start": "yesterday", "end": "2026-11-21"}, headers=auth
    )
    assert bad_start.status_code == 422 and "start" in bad_start.text
    reversed_range = client.get(
        "/v1/reports/advice", params={"start": "2026-11-21", "end": "2026-11-20"}, headers=auth
    )
    assert reversed_range.status_code == 422 and "start" in reversed_range.text
    bad_saving = client.get(
        "/v1/reports/advice",
        params={"start": "2026-11-20", "end": "2026-11-21", "min_saving": "lots"},
        headers=auth,
    )
    assert bad_saving.status_code == 422 and "min_saving" in bad_saving.text
