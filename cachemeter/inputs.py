"""Reading user files for the CLI: JSON or JSONL payloads and price files, with clear errors."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from billing.catalogue import PriceSpec
from ingest.envelope import describe_validation_error


class CliError(Exception):
    """A problem the user can fix; the CLI prints it on one line and exits 2."""


def _read_text(source: str) -> str:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {source}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CliError(f"{source}: not UTF-8 text") from None
    if not text.strip():
        raise CliError(f"{source}: empty input, expected JSON")
    return text


def _invalid(source: str, exc: json.JSONDecodeError) -> CliError:
    return CliError(f"{source}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")


def read_json(source: str) -> Any:
    """One JSON document from a file path or `-` (stdin)."""
    text = _read_text(source)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _invalid(source, exc) from None


def iter_records(source: str) -> Iterator[tuple[str, Any]]:
    """(location, record) pairs from JSONL, or from a JSON object, list or {"records": [...]}.

    `.jsonl`/`.ndjson` files are streamed line by line, so their size does not matter.
    """
    if source.endswith((".jsonl", ".ndjson")):
        try:
            with open(source, encoding="utf-8") as handle:
                yield from _jsonl(source, handle)
        except OSError as exc:
            raise CliError(f"cannot read {source}: {exc.strerror or exc}") from None
        return
    text = _read_text(source)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # several documents: JSON Lines without the extension
            yield from _jsonl(source, io.StringIO(text))
            return
        raise _invalid(source, exc) from None
    if isinstance(data, dict) and isinstance(data.get("records"), list):
        data = data["records"]
    for index, item in enumerate(data if isinstance(data, list) else [data]):
        yield f"{source}[{index}]", item


def _jsonl(source: str, lines: Iterable[str]) -> Iterator[tuple[str, Any]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield f"{source}:{number}", json.loads(line)
        except json.JSONDecodeError as exc:
            raise CliError(f"{source}:{number}: invalid JSON: {exc.msg}") from None


def read_price_specs(path: str) -> list[PriceSpec]:
    """A JSON list of price entries, each validated; the first bad one stops the load."""
    text = _read_text(path)
    try:
        # Decimal, never float: 0.60 must stay 0.60.
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise _invalid(path, exc) from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise CliError(f"{path}: expected a JSON list of price entries")
    specs = []
    for index, item in enumerate(data):
        try:
            spec = PriceSpec.model_validate(item)
            spec.to_entry()
        except ValidationError as exc:
            raise CliError(f"{path}[{index}]: {describe_validation_error(exc.errors())}") from None
        except ValueError as exc:
            raise CliError(f"{path}[{index}]: {exc}") from None
        specs.append(spec)
    return specs
