"""LiteLLM: the proxy callback (documented StandardLoggingPayload) and the spend-log importer."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cachemeter.cli.main import main
from cachemeter_client import Reporter
from cachemeter_client.litellm import CachemeterLogger, record_from_log
from store.models import UsageEvent
from tests.factories import tenant_with_key

# LiteLLM's StandardLoggingPayload for a streamed Anthropic call (fields as documented).
PAYLOAD: dict[str, Any] = {
    "id": "litellm-call-1",
    "call_type": "acompletion",
    "cache_hit": False,
    "custom_llm_provider": "anthropic",
    "model": "claude-sonnet-4-5",
    "model_group": "claude",
    "response_cost": 0.0123,
    "startTime": 1795000000.0,
    "completionStartTime": 1795000000.35,
    "endTime": 1795000002.0,
    "end_user": "user-42",
    "request_tags": ["prod", "search"],
    "metadata": {
        "user_api_key_alias": "search-svc",
        "user_api_key_team_alias": "search",
        "usage_object": {
            "prompt_tokens": 5000,
            "completion_tokens": 40,
            "total_tokens": 5040,
            "prompt_tokens_details": {"cached_tokens": 4096, "cache_creation_tokens": 0},
            "cache_read_input_tokens": 4096,
            "cache_creation_input_tokens": 0,
        },
    },
}


def _events(engine: Engine) -> list[UsageEvent]:
    with Session(engine) as session:
        return list(session.scalars(select(UsageEvent).order_by(UsageEvent.id)))


def test_record_mapping() -> None:
    record = record_from_log(PAYLOAD)
    assert record is not None
    assert (record["provider"], record["team"], record["app"]) == (
        "anthropic",
        "search",
        "search-svc",
    )
    assert record["ttft_ms"] == pytest.approx(350.0) and record["latency_ms"] == pytest.approx(
        2000.0
    )
    assert record["reported_cost"] == "0.0123" and record["tags"] == {
        "prod": "true",
        "search": "true",
    }
    # LiteLLM's own response cache served it: no provider call, not prompt caching.
    assert record_from_log({**PAYLOAD, "cache_hit": True}) is None
    # Non-streaming: completionStartTime equals endTime, which is no time to first token.
    assert "ttft_ms" not in (
        record_from_log({**PAYLOAD, "completionStartTime": 1795000002.0}) or {}
    )


def test_callback_reports_through_the_service(engine: Engine, live_url: str) -> None:
    _, key = tenant_with_key(engine)
    reporter = Reporter(live_url, key, flush_interval=0.05)
    logger = CachemeterLogger(reporter)
    logger.log_success_event({"standard_logging_object": PAYLOAD}, None, None, None)
    asyncio.run(
        logger.async_log_success_event(
            {"standard_logging_object": {**PAYLOAD, "id": "litellm-call-2"}}, None, None, None
        )
    )
    logger.log_success_event(
        {"standard_logging_object": {**PAYLOAD, "id": "hit", "cache_hit": True}}, None, None, None
    )
    assert reporter.flush() and logger.skipped_cache_hits == 1
    events = _events(engine)
    assert [e.request_id for e in events] == ["litellm-call-1", "litellm-call-2"]
    event = events[0]
    assert (event.input_tokens, event.cache_read_tokens, event.output_tokens) == (5000, 4096, 40)
    assert (event.source, event.team, event.app) == ("push", "search", "search-svc")
    assert event.reported_cost is not None and str(event.reported_cost.normalize()) == "0.0123"
    assert event.end_user is not None and event.end_user != "user-42"  # hashed
    reporter.close()


SPEND_LOGS = """CREATE TABLE "LiteLLM_SpendLogs" (request_id text PRIMARY KEY,
    "startTime" timestamp,
    "endTime" timestamp, "completionStartTime" timestamp, model text, model_group text,
    custom_llm_provider text, spend double precision, prompt_tokens int, completion_tokens int,
    metadata jsonb, cache_hit text, request_tags jsonb, team_id text, end_user text)"""


def test_spend_logs_from_postgres_and_csv(
    cli_db: str,
    engine: Engine,
    fresh_database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dsn = fresh_database.replace("postgresql+psycopg://", "postgresql://")
    rows = [
        (
            "s1",
            "2026-11-20 10:00:00",
            "2026-11-20 10:00:02",
            "2026-11-20 10:00:00.4",
            "gpt-5.1",
            "gpt",
            "openai",
            0.01,
            3000,
            20,
            json.dumps(
                {
                    "usage_object": {
                        "prompt_tokens": 3000,
                        "completion_tokens": 20,
                        "prompt_tokens_details": {"cached_tokens": 2048},
                    }
                }
            ),
            "False",
            json.dumps(["batch"]),
            "team-a",
            None,
        ),
        (
            "s2",
            "2026-11-20 10:01:00",
            "2026-11-20 10:01:01",
            "2026-11-20 10:01:01",
            "gpt-5.1",
            "gpt",
            "openai",
            0.0,
            1200,
            10,
            "{}",
            "True",
            "[]",
            "team-a",
            None,
        ),
        (
            "s3",
            "2026-11-20 10:02:00",
            "2026-11-20 10:02:03",
            "2026-11-20 10:02:03",
            "gpt-5.1",
            "gpt",
            "openai",
            0.02,
            1500,
            30,
            "{}",
            "False",
            "[]",
            "team-b",
            "u1",
        ),
    ]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SPEND_LOGS)
        for row in rows:
            conn.execute(
                f'INSERT INTO "LiteLLM_SpendLogs" VALUES ({", ".join(["%s"] * 13)}, %s, %s)',
                row,
            )
    assert main(["ingest-litellm", "--dsn", dsn, "--tenant", "acme"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "accepted": 2,
        "duplicates": 0,
        "rejected": 0,
        "skipped_cache_hits": 1,
    }
    events = {e.request_id: e for e in _events(engine)}
    s1 = events["s1"]
    assert (s1.input_tokens, s1.cache_read_tokens, s1.team, s1.source) == (
        3000,
        2048,
        "team-a",
        "litellm",
    )
    assert s1.ttft_ms == pytest.approx(400.0)
    assert events["s3"].input_tokens == 1500 and events["s3"].cache_read_tokens == 0
    assert main(["ingest-litellm", "--dsn", dsn, "--tenant", "acme"]) == 0
    assert json.loads(capsys.readouterr().out)["duplicates"] == 2

    export = tmp_path / "spend.csv"
    with export.open("w", newline="") as out:
        writer = csv.DictWriter(
            out,
            fieldnames=[
                "request_id",
                "startTime",
                "endTime",
                "model",
                "custom_llm_provider",
                "spend",
                "prompt_tokens",
                "completion_tokens",
                "cache_hit",
                "team_id",
            ],
        )
        writer.writeheader()
        writer.writerow(
            {
                "request_id": "c1",
                "startTime": "2026-11-21T08:00:00",
                "endTime": "2026-11-21T08:00:01",
                "model": "gpt-5.1",
                "custom_llm_provider": "openai",
                "spend": "0.001",
                "prompt_tokens": "900",
                "completion_tokens": "5",
                "cache_hit": "False",
                "team_id": "t",
            }
        )
    assert main(["ingest-litellm", str(export), "--tenant", "acme"]) == 0
    assert json.loads(capsys.readouterr().out)["accepted"] == 1
    assert (
        main(
            ["ingest-litellm", "--dsn", "postgresql://nobody@127.0.0.1:1/none", "--tenant", "acme"]
        )
        == 2
    )
    assert "cannot read LiteLLM spend logs" in capsys.readouterr().err


def test_the_server_keeps_the_earlier_import_paths() -> None:
    # Proxy configs name `cachemeter.litellm.handler`; server-side code `cachemeter.client`.
    import cachemeter.client
    import cachemeter.litellm
    import cachemeter_client.litellm

    assert cachemeter.litellm.handler is cachemeter_client.litellm.handler
    assert cachemeter.client.Reporter is Reporter
