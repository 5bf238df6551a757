"""Bulk file import: gzip JSONL and CSV streamed in batches, resumable after interruption."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, func, select

from cachemeter.cli.importer import import_file
from ingest.metrics import IngestMetrics
from ingest.service import Ingestor
from store.models import UsageEvent
from store.tenants import ensure_tenant
from tests.factories import outcome_counts


def _record(i: int, with_id: bool = True) -> dict[str, Any]:
    record: dict[str, Any] = {
        "provider": "openai",
        "model": "gpt-5.1",
        "occurred_at": "2026-11-20T10:00:00Z",
        "usage": {
            "prompt_tokens": 2000 + i,
            "completion_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": 1024},
        },
    }
    if with_id:
        record["request_id"] = f"r{i}"
    return record


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(UsageEvent)).scalar_one())


@pytest.fixture
def setup(engine: Engine, tmp_path: Path) -> tuple[Ingestor, Any]:
    with engine.begin() as conn:
        tenant = ensure_tenant(conn, "acme")
    return Ingestor(engine, IngestMetrics(CollectorRegistry())), tenant


def test_gzip_jsonl_with_bad_lines_and_progress(engine: Engine, tmp_path: Path, setup: Any) -> None:
    ingestor, tenant = setup
    path = tmp_path / "usage.jsonl.gz"
    with gzip.open(path, "wt") as out:
        for i in range(2500):
            out.write(json.dumps(_record(i)) + "\n")
            if i == 1200:
                out.write("{not json\n")  # line 1202
        out.write(json.dumps({**_record(9999), "usage": {"prompt_tokens": -1}}) + "\n")
    seen: list[tuple[int, int]] = []
    report = import_file(
        ingestor,
        tenant,
        path,
        batch=1000,
        checkpoints=tmp_path / "ck",
        progress=lambda done, total: seen.append((done, total)),
    )
    assert (report.accepted, report.rejected, report.lines) == (2500, 2, 2502)
    assert (
        report.rejected_lines[0][0] == f"{path}:1202"
        and "unreadable" in report.rejected_lines[0][1]
    )
    assert (
        report.rejected_lines[1][0] == f"{path}:2502" and "negative" in report.rejected_lines[1][1]
    )
    assert seen[-1][0] == seen[-1][1] == path.stat().st_size
    assert _count(engine) == 2500


def test_csv_canonical_columns_and_json_usage(engine: Engine, tmp_path: Path, setup: Any) -> None:
    ingestor, tenant = setup
    path = tmp_path / "usage.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            [
                "request_id",
                "provider",
                "model",
                "occurred_at",
                "app",
                "ttft_ms",
                "input_tokens",
                "cache_read_tokens",
                "cache_write_tokens",
                "output_tokens",
                "usage",
            ]
        )
        writer.writerow(
            [
                "c1",
                "anthropic",
                "claude-sonnet-4-5",
                "2026-11-20T10:00:00Z",
                "chat",
                "250",
                "5000",
                "4000",
                "0",
                "100",
                "",
            ]
        )
        writer.writerow(
            [
                "c2",
                "openai",
                "gpt-5.1",
                "2026-11-20T10:00:00Z",
                "chat",
                "",
                "",
                "",
                "",
                "",
                json.dumps(
                    {
                        "prompt_tokens": 3000,
                        "completion_tokens": 5,
                        "prompt_tokens_details": {"cached_tokens": 2048},
                    }
                ),
            ]
        )
        writer.writerow(
            ["c3", "openai", "gpt-5.1", "2026-11-20T10:00:00Z", "chat", "fast", "1", "", "", "", ""]
        )
    report = import_file(ingestor, tenant, path, batch=100, checkpoints=tmp_path / "ck")
    assert (report.accepted, report.rejected) == (2, 1)
    assert report.rejected_lines[0][0] == f"{path}:4"  # the header is line 1
    with engine.connect() as conn:
        rows = {
            r.request_id: r
            for r in conn.execute(
                select(
                    UsageEvent.request_id,
                    UsageEvent.input_tokens,
                    UsageEvent.cache_read_tokens,
                    UsageEvent.ttft_ms,
                )
            )
        }
    assert (rows["c1"].input_tokens, rows["c1"].cache_read_tokens, rows["c1"].ttft_ms) == (
        5000,
        4000,
        250.0,
    )
    assert (rows["c2"].input_tokens, rows["c2"].cache_read_tokens) == (3000, 2048)


def test_interrupted_import_resumes_without_duplicates(
    engine: Engine, tmp_path: Path, setup: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingestor, tenant = setup
    path = tmp_path / "big.jsonl"
    # No request ids: only the checkpoint keeps a resumed import from storing lines twice.
    path.write_text("".join(json.dumps(_record(i, with_id=False)) + "\n" for i in range(3500)))
    calls = {"n": 0}
    real = ingestor.ingest

    def dying(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # Ctrl-C during the third batch
        return real(*args, **kwargs)

    monkeypatch.setattr(ingestor, "ingest", dying)
    with pytest.raises(KeyboardInterrupt):
        import_file(ingestor, tenant, path, batch=1000, checkpoints=tmp_path / "ck")
    assert _count(engine) == 2000
    monkeypatch.setattr(ingestor, "ingest", real)
    report = import_file(ingestor, tenant, path, batch=1000, checkpoints=tmp_path / "ck")
    assert (report.resumed_after, report.accepted) == (2000, 1500)
    assert _count(engine) == 3500
    # A changed file is not the same import: its checkpoint no longer applies.
    with path.open("a") as out:
        out.write(json.dumps(_record(5000)) + "\n")
    assert (
        import_file(ingestor, tenant, path, batch=1000, checkpoints=tmp_path / "ck").resumed_after
        == 0
    )


def test_a_line_reusing_a_stored_request_id_with_other_usage_is_a_conflict(
    engine: Engine, tmp_path: Path, setup: Any
) -> None:
    ingestor, tenant = setup
    first = tmp_path / "day1.jsonl"
    first.write_text("".join(json.dumps(_record(i)) + "\n" for i in range(3)))
    assert import_file(ingestor, tenant, first, batch=10, checkpoints=tmp_path / "ck").accepted == 3
    second = tmp_path / "day2.jsonl"
    changed = {**_record(1), "usage": {"prompt_tokens": 5000, "completion_tokens": 10}}
    second.write_text(json.dumps(_record(0)) + "\n" + json.dumps(changed) + "\n")
    report = import_file(ingestor, tenant, second, batch=10, checkpoints=tmp_path / "ck")
    # Line 1 is a retry (a duplicate); line 2 says r1 had other usage: reported, not stored.
    assert (report.accepted, report.duplicates, report.conflicts) == (0, 1, 1)
    [(where, error)] = report.rejected_lines
    assert where == f"{second}:2" and "request_id 'r1' was stored with other usage" in error
    assert _count(engine) == 3
    # Kept per hour as source "file": the retry a duplicate, r1's other usage a conflict.
    assert outcome_counts(engine) == {
        ("file", "duplicate", "retry"): 1,
        ("file", "conflict", "usage"): 1,
    }
