"""The `cachemeter` command: explain without a database, the rest against a test database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from cachemeter.cli.main import main
from store.models import PriceRow, UsageEvent
from tests.factories import anthropic_record
from tests.usage_fixtures import FIXTURE_DIR, load_fixtures


def _explain(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["explain", *args]) == 0
    out: dict[str, object] = json.loads(capsys.readouterr().out)
    return out


@pytest.mark.parametrize("fixture", load_fixtures(), ids=lambda f: f["name"])
def test_explain_every_fixture_file(
    fixture: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    out = _explain(capsys, str(FIXTURE_DIR / f"{fixture['name']}.json"))
    expected = fixture["expected"]
    assert isinstance(expected, dict)
    for key, value in expected.items():
        assert out[key] == value
    assert (
        out["uncached_input_tokens"]
        == expected["input_tokens"] - expected["cache_read_tokens"] - expected["cache_write_tokens"]
    )


def test_explain_stepfun_with_catalogue_prices(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prices = tmp_path / "prices.json"
    # Cached input billed at 20% of the input rate (here 5 CNY -> 1 CNY per MTok).
    prices.write_text(
        json.dumps(
            [
                {
                    "provider": "stepfun",
                    "model": "step-1o-turbo-vision",
                    "currency": "CNY",
                    "input_mtok": 5,
                    "output_mtok": 20,
                    "cache_read_mtok": 1,
                }
            ]
        )
    )
    out = _explain(capsys, "--prices", str(prices), str(FIXTURE_DIR / "stepfun.json"))
    assert out["uncached_input_tokens"] == 79
    assert out["currency"] == "CNY"
    # 79 x 5 + 512 x 1 + 120 x 20 = 3307 per MTok -> 0.003307
    assert out["cost"] == "0.003307"
    assert out["nocache_cost"] == "0.005355"  # 591 x 5 + 120 x 20 = 5355


def test_explain_venice_from_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prices = tmp_path / "venice.json"
    prices.write_text(
        '[{"provider": "venice", "model": "claude-opus-4-5", "currency": "USD",'
        ' "input_mtok": 6.00, "output_mtok": 30.00, "cache_read_mtok": 0.60,'
        ' "cache_write_mtok": 7.50}]'
    )
    payload = {
        "model": "claude-opus-4-5",
        "usage": {
            "prompt_tokens": 5500,
            "completion_tokens": 0,
            "prompt_tokens_details": {"cached_tokens": 5000},
        },
    }
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(payload)))
    out = _explain(capsys, "--provider", "venice", "--prices", str(prices), "-")
    assert (out["cost"], out["nocache_cost"]) == ("0.006", "0.033")
    assert out["price"]["source"] == "catalogue"  # type: ignore[index]


def test_explain_unpriced_still_prints_counts(capsys: pytest.CaptureFixture[str]) -> None:
    out = _explain(capsys, str(FIXTURE_DIR / "stepfun.json"))
    assert out["cost"] is None and out["input_tokens"] == 591
    assert "step-1o-turbo-vision" in str(out["unpriced_reason"])


def test_explain_time_selects_genai_price_period(capsys: pytest.CaptureFixture[str]) -> None:
    # DeepSeek deepseek-chat: $0.27 in per MTok at peak (00:30-16:30 UTC), $0.135 off-peak.
    path = str(FIXTURE_DIR / "deepseek-chat.json")
    peak = _explain(capsys, "--model", "deepseek-chat", "--at", "2026-11-01T12:00:00Z", path)
    off = _explain(capsys, "--model", "deepseek-chat", "--at", "2026-11-01T20:00:00Z", path)
    assert peak["price"]["input_mtok"] == "0.27"  # type: ignore[index]
    assert off["price"]["input_mtok"] == "0.135"  # type: ignore[index]


def test_explain_miss_hint_below_minimum(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "short.json"
    path.write_text(
        json.dumps({"model": "gpt-5.1", "usage": {"prompt_tokens": 800, "completion_tokens": 5}})
    )
    assert _explain(capsys, str(path))["miss_hint"] == "below_minimum_length"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"usage": {"prompt_tokens": -3}}', "must not be negative"),
        ("", "empty input"),
    ],
)
def test_explain_bad_input_exits_2(
    tmp_path: Path, content: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert main(["explain", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cachemeter: error:") and message in err and err.count("\n") == 1


def test_explain_missing_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "/nonexistent/payload.json"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_console_script_runs() -> None:
    script = Path(sys.executable).with_name("cachemeter")
    done = subprocess.run(
        [str(script), "explain", str(FIXTURE_DIR / "openai-chat.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["cache_read_tokens"] == 1920


def test_ingest_jsonl_twice_stores_once(
    cli_db: str, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "usage.jsonl"
    path.write_text(
        "\n".join(json.dumps(anthropic_record(request_id=f"f{i}")) for i in range(7)) + "\n"
    )
    assert main(["ingest", "--quiet", "--tenant", "acme", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["accepted"] == 7
    # Run again, the checkpoint says the file is done: nothing is sent.
    assert main(["ingest", "--quiet", "--tenant", "acme", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["files"][0]["resumed_after_line"] == 7
    # From the top, every record is a duplicate: still stored once.
    assert main(["ingest", "--quiet", "--restart", "--tenant", "acme", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["duplicates"] == 7
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(UsageEvent)).scalar_one() == 7


def test_ingest_reports_bad_records_and_exits_2(
    cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "batch.json"
    path.write_text(
        json.dumps(
            {
                "records": [
                    anthropic_record(request_id="a"),
                    anthropic_record(request_id="b", output=-1),
                ]
            }
        )
    )
    assert main(["ingest", "--quiet", str(path)]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out)["accepted"] == 1
    assert f"{path}:2" in captured.err and "output_tokens" in captured.err  # record 2 of the file


def test_ingest_lists_rejected_lines_in_file_order(
    cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Unreadable lines are found as the file is read, refused records when their batch is
    # sent: with batches of 2, lines 2 and 5 are known before lines 1 and 4.
    refused = json.dumps(anthropic_record(request_id="neg", output=-1))
    lines = [refused, "{not json", json.dumps(anthropic_record(request_id="a"))] * 2
    path = tmp_path / "usage.jsonl"
    path.write_text("\n".join(lines) + "\n")
    rejects = tmp_path / "rejects.jsonl"
    args = ["ingest", "--quiet", "--batch", "2", "--rejects", str(rejects), str(path)]
    assert main(args) == 2
    listed = [
        line.split()[1].rstrip(":")
        for line in capsys.readouterr().err.splitlines()
        if line.startswith("rejected ")
    ]
    expected = [f"{path}:{n}" for n in (1, 2, 4, 5)]
    assert listed == expected
    assert [json.loads(line)["line"] for line in rejects.read_text().splitlines()] == expected


def test_keys_create_prints_key_last(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "create", "--tenant", "acme"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("cm_")


def test_keys_scopes_list_rotate_revoke(
    cli_db: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    from store.tenants import tenant_for_key

    assert main(["keys", "create", "--tenant", "acme", "--scope", "root"]) == 2
    assert "root" in capsys.readouterr().err
    assert main(["keys", "create", "--tenant", "acme", "--scope", "read,admin", "--name", "a"]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert main(["keys", "list", "--tenant", "acme"]) == 0
    assert f"{key[:10]}\tread,admin\tactive\tlast used never\ta" in capsys.readouterr().out
    assert main(["keys", "rotate", key[:10], "--tenant", "acme", "--grace-hours", "2"]) == 0
    new = capsys.readouterr().out.strip().splitlines()[-1]
    with engine.connect() as conn:
        old_ref, new_ref = tenant_for_key(conn, key), tenant_for_key(conn, new)
    assert old_ref is not None and new_ref is not None
    assert new_ref.scopes == frozenset({"read", "admin"})
    assert main(["keys", "list", "--tenant", "acme"]) == 0
    assert "expires" in capsys.readouterr().out
    assert main(["keys", "revoke", key[:10]]) == 0
    with engine.connect() as conn:
        assert tenant_for_key(conn, key) is None
    assert main(["keys", "rotate", key[:10], "--tenant", "acme"]) == 2


def test_prices_add_load_list_and_overlap(
    cli_db: str, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add = ["prices", "add", "--provider", "stepfun", "--model", "step-2", "--currency", "CNY"]
    first = [
        "--input",
        "5",
        "--output",
        "20",
        "--cache-read",
        "1",
        "--effective-from",
        "2026-01-01",
    ]
    overlapping = ["--input", "4", "--output", "16", "--effective-from", "2026-06-01"]
    assert main([*add, *first]) == 0
    assert main([*add, *overlapping]) == 2
    assert "overlaps" in capsys.readouterr().err
    file = tmp_path / "p.json"
    file.write_text(
        json.dumps(
            [
                {
                    "provider": "venice",
                    "model": "claude-opus-4-5",
                    "input_mtok": "6.00",
                    "output_mtok": "30",
                    "cache_read_mtok": "0.60",
                }
            ]
        )
    )
    assert main(["prices", "load", str(file)]) == 0
    capsys.readouterr()
    assert main(["prices", "list"]) == 0
    listed = json.loads(capsys.readouterr().out)
    venice = next(p for p in listed if p["provider"] == "venice")
    # Absent write price = input price.
    assert (venice["cache_read_mtok"], venice["cache_write_mtok"]) == ("0.6", "6")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(PriceRow)).scalar_one() == 2
        rate = conn.execute(
            select(PriceRow.cache_read_mtok).where(PriceRow.model == "step-2")
        ).scalar_one()
    assert rate == Decimal("1")


def test_prices_load_bad_entry_exits_2(
    cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "p.json"
    file.write_text(
        json.dumps([{"provider": "x", "model": "y", "input_mtok": -1, "output_mtok": 1}])
    )
    assert main(["prices", "load", str(file)]) == 2
    assert "input_mtok" in capsys.readouterr().err


def test_demo_loads_through_ingest(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--days", "2", "--tenant", "demo"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["accepted"] > 500 and first["rejected"] == 0
    assert main(["demo", "--days", "2", "--tenant", "demo"]) == 0
    assert json.loads(capsys.readouterr().out)["accepted"] == 0


def test_explain_accepts_a_push_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "record.json"
    path.write_text(json.dumps(anthropic_record(plain=1000, read=4000, output=100)))
    out = _explain(capsys, str(path))
    assert (out["provider"], out["model"], out["input_tokens"]) == (
        "anthropic",
        "claude-sonnet-4-5",
        5000,
    )
    # Claude Sonnet 4.5: 1000 x $3 + 4000 x $0.30 + 100 x $15 = 3000 + 1200 + 1500 -> $0.0057
    assert out["cost"] == "0.0057"
    path.write_text(json.dumps({**anthropic_record(), "response": {}}))
    assert main(["explain", str(path)]) == 2
    assert "exactly one" in capsys.readouterr().err


def test_serve_refuses_to_expose_metrics_without_a_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CACHEMETER_", "DATABASE_URL"))}
    env["CACHEMETER_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "cachemeter", "serve", "--port", "9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "CACHEMETER_METRICS_TOKEN" in done.stderr and "CACHEMETER_METRICS_PUBLIC" in done.stderr


def test_output_into_a_reader_that_stops_early_ends_quietly(cli_db: str, tmp_path: Path) -> None:
    # `cachemeter prices list | head -1`: more JSON than a pipe holds (64 KiB on Linux), so the
    # command is still writing when the reader closes its end.
    file = tmp_path / "p.json"
    prices = [
        {"provider": "venice", "model": f"model-{i}", "input_mtok": "1", "output_mtok": "2"}
        for i in range(1000)
    ]
    file.write_text(json.dumps(prices))
    assert main(["prices", "load", str(file)]) == 0
    reader = subprocess.Popen(
        [sys.executable, "-m", "cachemeter", "prices", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout is not None and reader.stderr is not None
    assert reader.stdout.readline() == b"[\n"
    reader.stdout.close()
    stderr = reader.stderr.read().decode()
    assert reader.wait(timeout=60) == 141  # 128 + SIGPIPE, as `yes | head` shows
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
