"""Re-pricing after a price correction: exactly the events in range change, and it is audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from billing.catalogue import PriceSpec
from cachemeter.cli.main import main
from ingest.metrics import IngestMetrics
from ingest.service import Ingestor
from store.models import RepriceRun, UsageEvent
from store.prices import add_price
from store.tenants import ensure_tenant
from tests.factories import anthropic_record


def _stepfun(request_id: str, at: str, model: str = "step-1o-turbo-vision") -> dict[str, object]:
    return {
        "provider": "stepfun",
        "model": model,
        "request_id": request_id,
        "occurred_at": at,
        "usage": {"prompt_tokens": 591, "completion_tokens": 120, "cached_tokens": 512},
    }


def _costs(engine: Engine) -> dict[str, Decimal | None]:
    with Session(engine) as session:
        return {str(e.request_id): e.cost for e in session.scalars(select(UsageEvent))}


@pytest.fixture
def seeded(engine: Engine) -> int:
    with engine.begin() as conn:
        price_id = add_price(
            conn,
            PriceSpec(
                provider="stepfun",
                model="step-1o-turbo-vision",
                currency="CNY",
                input_mtok=Decimal(5),
                output_mtok=Decimal(20),
                cache_read_mtok=Decimal(1),
            ),
        )
        tenant = ensure_tenant(conn, "acme")
    records = [
        _stepfun("oct", "2026-10-15T12:00:00Z"),
        _stepfun("nov-a", "2026-11-10T12:00:00Z"),
        _stepfun("nov-b", "2026-11-20T12:00:00Z"),
        _stepfun("nov-unpriced", "2026-11-12T12:00:00Z", model="step-2"),
        anthropic_record(request_id="claude", occurred_at="2026-11-15T12:00:00Z"),
    ]
    result = Ingestor(engine, IngestMetrics(CollectorRegistry())).ingest(
        tenant, records, source="push", received_at=datetime(2026, 11, 25, tzinfo=UTC)
    )
    assert result.accepted == 5
    return price_id


def test_reprice_after_correction_changes_exactly_the_range(
    cli_db: str, engine: Engine, seeded: int, capsys: pytest.CaptureFixture[str]
) -> None:
    # 79 uncached x 5 + 512 read x 1 + 120 out x 20 = 3307 CNY per MTok of requests.
    assert _costs(engine)["nov-a"] == Decimal("0.003307")
    assert main(["prices", "update", str(seeded), "--input", "6", "--reason", "typo"]) == 0
    assert (
        main(
            [
                "prices",
                "add",
                "--provider",
                "stepfun",
                "--model",
                "step-2",
                "--currency",
                "CNY",
                "--input",
                "2",
                "--output",
                "8",
            ]
        )
        == 0
    )
    capsys.readouterr()
    args = [
        "reprice",
        "--start",
        "2026-11-01",
        "--end",
        "2026-12-01",
        "--reason",
        "price typo",
        "--quiet",
    ]
    assert main([*args, "--dry-run"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert (dry["events_seen"], dry["events_changed"], dry["dry_run"]) == (4, 3, True)
    assert _costs(engine)["nov-a"] == Decimal("0.003307")  # a dry run changes nothing
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["events_seen"], report["events_changed"]) == (4, 3)
    assert (report["unpriced_before"], report["unpriced_after"]) == (1, 0)
    costs = _costs(engine)
    # Corrected: 79 x 6 + 512 x 1 + 120 x 20 = 3386.
    assert costs["nov-a"] == costs["nov-b"] == Decimal("0.003386")
    # step-2 at 2 in / 8 out (read at input rate): 591 x 2 + 120 x 8 = 2142.
    assert costs["nov-unpriced"] == Decimal("0.002142")
    assert costs["oct"] == Decimal("0.003307")  # outside the range: untouched
    # Claude Sonnet 4.5 at list: 100 x 3 + 10 x 15 = 450 -> unchanged.
    assert costs["claude"] == Decimal("0.00045")
    # CNY before: 2 x 0.003307; after: 2 x 0.003386 + 0.002142.
    assert report["totals"]["CNY"] == {
        "before": "0.006614",
        "after": "0.008914",
        "change": "0.0023",
    }
    with Session(engine) as session:
        runs = list(session.scalars(select(RepriceRun).order_by(RepriceRun.id)))
    assert [(r.dry_run, r.events_changed, r.actor, r.reason) for r in runs] == [
        (True, 3, "finance-bot", "price typo"),
        (False, 3, "finance-bot", "price typo"),
    ]
    assert runs[1].range_start == datetime(2026, 11, 1, tzinfo=UTC)
    # Running it again finds nothing left to change.
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["events_changed"] == 0


def test_reprice_filters_and_errors(
    cli_db: str, engine: Engine, seeded: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "reprice",
                "--start",
                "2026-11-01",
                "--end",
                "2026-12-01",
                "--reason",
                "r",
                "--provider",
                "anthropic",
                "--quiet",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["events_seen"] == 1
    assert main(["reprice", "--start", "2026-12-01", "--end", "2026-11-01", "--reason", "r"]) == 2
    assert "--start must be before --end" in capsys.readouterr().err
    assert main(["reprice", "--start", "2026-11-01", "--end", "2026-12-01"]) == 2
    assert "--reason" in capsys.readouterr().err
    assert (
        main(
            [
                "reprice",
                "--start",
                "2026-11-01",
                "--end",
                "2026-12-01",
                "--reason",
                "r",
                "--tenant",
                "nobody",
            ]
        )
        == 2
    )
    assert main(["prices", "update", "999", "--input", "1", "--reason", "r"]) == 2
    assert "no price with id 999" in capsys.readouterr().err
    assert main(["reprice", "--history"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["provider"] == "anthropic"
