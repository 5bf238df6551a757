"""File import memory: peak RSS of `cachemeter ingest` on a file and on one four times larger."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
from server_bench import MIB, record


def _write(path: Path, lines: int, offset: int) -> None:
    at = datetime.now(UTC) - timedelta(days=3)
    with path.open("w") as out:
        for i in range(lines):
            out.write(json.dumps(record(offset + i, at)) + "\n")


def _peak_rss(url: str, path: Path, data_dir: str) -> int:
    env = {**os.environ, "DATABASE_URL": url, "CACHEMETER_DATA_DIR": data_dir}
    command = [sys.executable, "-m", "cachemeter.cli.main", "ingest", str(path), "--quiet"]
    command += ["--tenant", "bench-import"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    watched = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    if process.returncode != 0:
        raise RuntimeError(f"cachemeter ingest {path.name} exited with {process.returncode}")
    return peak


def import_memory(url: str, lines: int) -> dict[str, Any]:
    """Peak RSS importing `lines` records and then 4 x `lines` (new records each time)."""
    with tempfile.TemporaryDirectory(prefix="cachemeter-import-bench-") as tmp:
        small, large = Path(tmp, "small.jsonl"), Path(tmp, "large.jsonl")
        _write(small, lines, 20_000_000_000)
        _write(large, 4 * lines, 30_000_000_000)
        small_peak = _peak_rss(url, small, tmp)
        large_peak = _peak_rss(url, large, tmp)
        return {
            "import_lines_small": lines,
            "import_mib_small_file": round(small.stat().st_size / MIB, 1),
            "import_peak_rss_mib_small": round(small_peak / MIB, 1),
            "import_lines_large": 4 * lines,
            "import_mib_large_file": round(large.stat().st_size / MIB, 1),
            "import_peak_rss_mib_large": round(large_peak / MIB, 1),
        }
