"""The CLI names what is wrong with its input and exits 2, where it used to stop with a traceback
(found by an adversarial sweep on 2026-12-04); and nothing is stored before a mistake it can
see up front."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from cachemeter.cli.main import main
from store.models import PriceRow, UsageEvent
from tests.factories import anthropic_record


def _events(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(UsageEvent)).scalar_one())


def _fails(capsys: pytest.CaptureFixture[str], argv: list[str], says: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in err, err
    assert "Traceback" not in err


def test_files_that_are_not_what_ingest_reads(
    cli_db: str, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "records.jsonl"
    binary.write_bytes(os.urandom(64) + b"\xff\xfe\n")
    _fails(capsys, ["ingest", str(binary), "--tenant", "acme"], "not UTF-8 text")
    fake = tmp_path / "records.jsonl.gz"
    fake.write_bytes(b"\x1f\x8b\x08\x00" + b"garbage" * 10)  # a gzip header, then no deflate
    _fails(capsys, ["ingest", str(fake), "--tenant", "acme"], "truncated or corrupt gzip")
    wide = tmp_path / "records.csv"
    with wide.open("w", newline="") as out:
        csv.writer(out).writerows([["provider", "model"], ["openai", "x" * 200_000]])
    _fails(capsys, ["ingest", str(wide), "--tenant", "acme"], "not CSV this command reads")
    assert _events(engine) == 0


def test_a_rejects_file_that_cannot_be_written_stops_before_anything_is_stored(
    cli_db: str, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = tmp_path / "records.jsonl"
    records.write_text(json.dumps(anthropic_record(request_id="r1")) + "\n")
    for rejects in (tmp_path, tmp_path / "missing" / "rejects.jsonl"):
        _fails(
            capsys,
            ["ingest", str(records), "--tenant", "acme", "--rejects", str(rejects)],
            "--rejects: cannot write",
        )
    assert _events(engine) == 0


def test_focus_export_refuses_a_target_that_is_not_a_regular_file(
    cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "create", "--tenant", "acme"]) == 0  # the tenant
    capsys.readouterr()
    folder = tmp_path / "out"
    folder.mkdir()
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "elsewhere.csv")
    for target in (folder, link):
        _fails(
            capsys,
            ["export", "focus", "--tenant", "acme", "--month", "2026-11", "--output", str(target)],
            "exists and is not a regular file",
        )
    assert folder.is_dir() and link.is_symlink()  # neither replaced


def test_numbers_and_values_past_any_range(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "create", "--tenant", "acme"]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    _fails(
        capsys,
        ["keys", "rotate", key[:10], "--tenant", "acme", "--grace-hours", "1e400"],
        "out of range",
    )
    _fails(capsys, ["retention", "--months", "99999999999", "--dry-run"], "out of range")
    _fails(
        capsys,
        ["keys", "create", "--tenant", "acme", "--name", "n" * 300],
        "the database refused a value: value too long",
    )
    # Bytes that are not UTF-8 in an argument reach Python as lone surrogates.
    _fails(capsys, ["keys", "create", "--tenant", "\udcff"], "not UTF-8 text")


def test_ingest_litellm_refuses_a_file_that_is_no_spend_log(
    cli_db: str, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.csv"
    other.write_text("a,b,c\n1,2,3\n")
    assert main(["ingest-litellm", str(other), "--tenant", "acme"]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out)["accepted"] == 0
    assert "rejected row 1: not a spend log: none of the columns" in captured.err
    export = tmp_path / "export.json"
    export.write_text('[1, "x"]')
    assert main(["ingest-litellm", str(export), "--tenant", "acme"]) == 2
    assert capsys.readouterr().err.count("not a spend log: not an object") == 2
    assert _events(engine) == 0


def test_prices_update_checks_what_prices_add_checks(
    cli_db: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    add = ["prices", "add", "--provider", "acme-ai", "--model", "m1", "--input", "2"]
    assert main([*add, "--output", "8"]) == 0
    assert (
        main(["prices", "add", "--provider", "acme-ai", "--model", "*", "--discount-pct", "10"])
        == 0
    )
    capsys.readouterr()
    with engine.connect() as conn:
        rate_id, discount_id = conn.execute(select(PriceRow.id).order_by(PriceRow.id)).scalars()
    for flag, value, says in (
        ("--input", "NaN", "--input: "),
        ("--input", "Infinity", "--input: "),
        ("--input", "1e400", "--input: "),
        ("--input", "-1", "--input: Input should be greater than or equal to 0"),
        ("--input", "0.0000000000001", "--input: Decimal input should have no more than 9 decimal"),
        (
            "--output",
            "1000000000000",
            "--output: Decimal input should have no more than 9 digits before the decimal point",
        ),
    ):
        _fails(capsys, ["prices", "update", str(rate_id), flag, value, "--reason", "r"], says)
    _fails(
        capsys,
        ["prices", "update", str(discount_id), "--discount-pct", "500", "--reason", "r"],
        "--discount-pct: Input should be less than 100",
    )
    _fails(capsys, ["prices", "update", str(rate_id), "--input", "3", "--reason", " "], "--reason")
    with engine.connect() as conn:
        assert (
            conn.execute(select(PriceRow.input_mtok).where(PriceRow.id == rate_id)).scalar_one()
            == 2
        )
