"""The cache advisor on the demo's story, and its pure pieces: the sibling a model that does
not cache is pointed to, the month a range's saving is scaled to, the thresholds.

The scenario per kind, with hand-computed savings, is tests/test_advice_scenarios.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from fastapi.testclient import TestClient

from billing.price import Rates
from cache.advice import PriceView, RequestGroup, Settings, advise, sibling_of
from cachemeter.cli.demo import demo_records


def _view(input_mtok: str, read_mtok: str | None) -> PriceView:
    return PriceView(
        "USD",
        Rates.build(
            input=Decimal(input_mtok),
            output=Decimal(input_mtok) * 4,
            cache_read=Decimal(read_mtok) if read_mtok is not None else None,
        ),
    )


def test_the_sibling_is_of_the_same_family_and_caches() -> None:
    own = _view("1.4", None)
    candidates = {
        "step-3": own,
        # Same family, caching: step-2-16k shares "step-" only, as does step-1-8k.
        "step-2-16k": _view("5.3", "1.06"),
        "step-1-8k": _view("0.7", "0.14"),
        # Shares more of the name but does not cache.
        "step-3-mini": _view("0.5", None),
        # Caches, of another family.
        "gpt-4.1-mini": _view("0.4", "0.1"),
    }
    # Both caching siblings share 5 characters; step-1-8k's input price (0.7) is nearer 1.4.
    assert sibling_of("step-3", own, candidates) == ("step-1-8k", candidates["step-1-8k"])
    # The longest shared name wins over the nearest price.
    candidates["step-3v-mini"] = _view("9", "1")
    assert sibling_of("step-3", own, candidates) == ("step-3v-mini", candidates["step-3v-mini"])
    assert sibling_of("gpt-3.5-turbo", own, {"step-1-8k": _view("0.7", "0.14")}) is None
    assert sibling_of("grok", own, candidates) is None


def _group(**counts: int) -> RequestGroup:
    values: dict[str, object] = {
        "app": "bot",
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "prompt_cache_key": None,
        "smallest_read": None,
        "short_min": None,
        "short_max": None,
    }
    for name in RequestGroup.__dataclass_fields__:
        values.setdefault(name, 0)
    values.update(counts)
    return RequestGroup(**values)  # type: ignore[arg-type]


SONNET = PriceView(
    "USD",
    Rates.build(
        input=Decimal(3),
        output=Decimal(15),
        cache_read=Decimal("0.3"),
        cache_write=Decimal("3.75"),
        cache_write_1h=Decimal(6),
    ),
)


def test_a_saving_is_scaled_to_a_month_and_kept_above_the_thresholds() -> None:
    # 30 Claude requests of 1,024+ tokens without cache_control, 25 of them warm: marking the
    # 1,024-token minimum, 25 read it (25 x 1,024 x (3 - 0.30) = 69,120) and 5 write it
    # (5 x 1,024 x (3.75 - 3) = 3,840): 65,280 per million tokens, $0.06528 over the range.
    group = _group(requests=30, plain=30, plain_warm=25)

    def found(span_days: float, settings: Settings) -> list[str]:
        findings = advise(
            [group], [], [], lambda *_: SONNET, lambda *_: None, span_days * 86_400, settings
        )
        return [f"{f.kind} {f.saving_in_range.normalize()} {f.monthly_saving}" for f in findings]

    # Over one day, a month is 30 of them: $1.9584, $1.96 to the cent.
    assert found(1, Settings()) == ["add_cache_control 0.06528 1.96"]
    # Over three days it is $0.65 a month: under the default $1.
    assert found(3, Settings()) == []
    assert found(3, Settings(min_saving=Decimal("0.5"))) == ["add_cache_control 0.06528 0.65"]
    # 30 requests are evidence enough for 30, not for 31.
    assert found(1, Settings(min_requests=31)) == []


def test_the_demo_code_reviewers_timestamp_is_advice_with_its_money(
    client: TestClient, auth: dict[str, str]
) -> None:
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    records = demo_records(now, days=4)
    for i in range(0, len(records), 500):
        response = client.post("/v1/usage", json={"records": records[i : i + 500]}, headers=auth)
        assert response.json()["rejected"] == []
    # By hand from the demo's records: the code reviewer's requests (gpt-5.1, 1,024-token
    # minimum, 10-minute TTL) of its last 24 hours whose prefix hash differs from the one
    # before, read nothing and came within 10 minutes of it.
    review = sorted(
        (r for r in records if r["app"] == "code-review"), key=lambda r: r["occurred_at"]
    )
    times = [datetime.fromisoformat(r["occurred_at"]) for r in review]
    recent = 0
    for before, after, t0, t1 in zip(review, review[1:], times, times[1:], strict=False):
        usage = after["response"]["usage"]
        if (
            t1 > times[-1] - timedelta(hours=24)
            and after["prefix_hash"] != before["prefix_hash"]
            and usage["prompt_tokens_details"]["cached_tokens"] == 0
            and usage["prompt_tokens"] >= 1024
            and (t1 - t0).total_seconds() <= 600
        ):
            recent += 1
    assert recent > 200
    # Each would have read 6,144 tokens (what its hits read) at $0.125 instead of $1.25 per
    # MTok (OpenAI's gpt-5.1 prices), at the last day's pace for 30 days.
    monthly = (recent * 6144 * (Decimal("1.25") - Decimal("0.125")) / 1_000_000 * 30).quantize(
        Decimal("0.01")
    )
    start, end = now - timedelta(days=4), now
    body = client.get(
        f"/v1/reports/advice?start={start.isoformat()}&end={end.isoformat()}".replace("+", "%2B"),
        headers=auth,
    ).json()
    first = body["findings"][0]
    assert (first["kind"], first["app"], first["prompt_cache_key"]) == (
        "prefix_changes",
        "code-review",
        "code-review-system",
    )
    assert first["monthly_saving"] == str(monthly)
    assert first["evidence"]["would_hit"] == recent
    assert first["evidence"]["window"] == "last 24 hours"
    assert "timestamps" in first["recommendation"]
    # The support bot's chats expire between one and the next: its writes would be reads
    # with a 1-hour TTL.
    kinds = {(f["kind"], f["app"]) for f in body["findings"]}
    assert ("use_1h_ttl", "support-bot") in kinds
    # Findings come largest first.
    savings = [Decimal(f["monthly_saving"]) for f in body["findings"]]
    assert savings == sorted(savings, reverse=True)
