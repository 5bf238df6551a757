"""Bulk file import: JSONL, JSON or CSV, plain or gzip, streamed in batches.

Memory stays flat in the file size for JSONL and CSV (a JSON document is read whole: use
JSONL for big files). After each committed batch a checkpoint records how many lines are
done, so an interrupted import resumes where it stopped (records without a request_id are
not sent twice). Progress is shown in bytes of the file, so the bar has a rate and an ETA.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from billing.usage import TOKEN_FIELDS
from cachemeter.cli.inputs import CliError
from ingest.errors import PayloadError
from ingest.json_body import parse_json
from ingest.service import Ingestor
from store.tenants import TenantRef

TEXT_FIELDS = (
    "provider",
    "model",
    "request_id",
    "occurred_at",
    "app",
    "team",
    "environment",
    "end_user",
    "prompt_cache_key",
    "prefix_hash",
)
NUMBER_FIELDS = ("ttft_ms", "latency_ms", "reported_cost")
JSON_FIELDS = ("usage", "response", "tags")


@dataclass
class ImportReport:
    """What one file's import did."""

    path: str
    lines: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    # Lines whose request id is stored with other usage (nothing stored changed).
    conflicts: int = 0
    unpriced: int = 0
    resumed_after: int = 0
    # ("file:line", error) in file order.
    rejected_lines: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The summary printed by the CLI."""
        return {
            "file": self.path,
            "lines": self.lines,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "conflicts": self.conflicts,
            "unpriced": self.unpriced,
            "resumed_after_line": self.resumed_after,
        }


class _Counting(io.RawIOBase):
    """Counts bytes read from the file underneath (for progress, even through gzip)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.read_bytes = raw, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.read_bytes += len(data)
        return len(data)


def _open(path: Path) -> tuple[IO[str], _Counting]:
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    counting = _Counting(raw)
    buffered = io.BufferedReader(counting)
    gzipped = buffered.peek(2)[:2] == b"\x1f\x8b"
    binary: IO[bytes] = gzip.GzipFile(fileobj=buffered) if gzipped else buffered  # type: ignore[assignment]
    return io.TextIOWrapper(binary, encoding="utf-8", newline=""), counting


def _format(path: Path) -> str:
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".json"):
        return "json"
    return "jsonl"


def csv_record(row: dict[str, str]) -> dict[str, Any]:
    """A push record from a CSV row: canonical token columns or a JSON `usage`/`response`."""
    record: dict[str, Any] = {k: row[k] for k in TEXT_FIELDS if row.get(k)}
    for key in NUMBER_FIELDS:
        if row.get(key):
            record[key] = float(row[key])
    for key in JSON_FIELDS:
        if row.get(key):
            record[key] = parse_json(row[key], field=key)
    if "usage" not in record and "response" not in record:
        record["usage"] = {
            k: int(row[k]) if row[k].strip().lstrip("-").isdigit() else row[k]
            for k in TOKEN_FIELDS
            if row.get(k)
        }
    return record


def records(path: Path, handle: IO[str]) -> Iterator[tuple[int, Any]]:
    """(line number, record or an Exception for a line that could not be read)."""
    kind = _format(path)
    if kind == "json":
        try:
            data = parse_json(handle.read(), field=str(path))
        except PayloadError as exc:
            raise CliError(str(exc)) from None
        except UnicodeDecodeError:
            raise CliError(f"{path}: not UTF-8 text") from None
        if isinstance(data, dict) and isinstance(data.get("records"), list):
            data = data["records"]
        yield from enumerate(data if isinstance(data, list) else [data], start=1)
    elif kind == "csv":
        reader = csv.DictReader(handle)
        for row in reader:
            try:
                yield reader.line_num, csv_record(row)
            except ValueError as exc:  # PayloadError included
                yield reader.line_num, exc
    else:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    yield number, parse_json(line, field="line")
                except PayloadError as exc:
                    yield number, exc


def _checkpoint_path(directory: Path, path: Path) -> Path:
    return directory / f"{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:24]}.json"


def _fingerprint(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def import_file(
    ingestor: Ingestor,
    tenant: TenantRef,
    path: Path,
    *,
    batch: int,
    checkpoints: Path,
    restart: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import one file in batches, resuming after the last committed batch unless `restart`."""
    if not path.exists():
        raise CliError(f"cannot read {path}: no such file")
    report = ImportReport(str(path))
    checkpoint_file = _checkpoint_path(checkpoints, path)
    fingerprint = _fingerprint(path)
    done = 0
    if checkpoint_file.exists() and not restart:
        saved = json.loads(checkpoint_file.read_text())
        if {k: saved.get(k) for k in fingerprint} == fingerprint:
            done = int(saved["lines_done"])
    report.resumed_after = done
    handle, counting = _open(path)
    pending: list[tuple[int, Any]] = []
    # (line number, error): an unreadable line is known at once, a refused record only when
    # its batch is sent, so they are put back in file order at the end.
    rejected: list[tuple[int, str]] = []

    def flush() -> None:
        result = ingestor.ingest(
            tenant, [r for _, r in pending], source="file", received_at=datetime.now(UTC)
        )
        report.accepted += result.accepted
        report.duplicates += result.duplicates
        report.unpriced += result.unpriced
        report.rejected += len(result.rejected)
        report.conflicts += len(result.conflicts)
        rejected.extend(
            (pending[r.index][0], r.error) for r in [*result.rejected, *result.conflicts]
        )
        checkpoints.mkdir(parents=True, exist_ok=True)
        temporary = checkpoint_file.with_suffix(".tmp")
        temporary.write_text(json.dumps({**fingerprint, "lines_done": pending[-1][0]}))
        os.replace(temporary, checkpoint_file)  # atomic: a crash leaves the old or the new one
        pending.clear()

    with handle:
        for number, item in records(path, handle):
            report.lines = number
            if number <= done:
                continue
            if isinstance(item, Exception):
                report.rejected += 1
                rejected.append((number, f"unreadable line: {item}"))
                continue
            pending.append((number, item))
            if len(pending) >= batch:
                flush()
                if progress:
                    progress(counting.read_bytes, fingerprint["size"])
        if pending:
            flush()
    report.rejected_lines = [
        (f"{path}:{n}", error) for n, error in sorted(rejected, key=lambda r: r[0])
    ]
    if progress:
        progress(fingerprint["size"], fingerprint["size"])
    return report
