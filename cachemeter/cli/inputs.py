"""Reading user files for the CLI: JSON or JSONL payloads and price files, with clear errors."""

from __future__ import annotations

import csv
import gzip
import sys
import zlib
from decimal import InvalidOperation
from pathlib import Path
from typing import Any

from psycopg import errors
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from billing.catalogue import PriceSpec
from ingest.envelope import describe_validation_error
from ingest.errors import PayloadError
from ingest.json_body import parse_json


class CliError(Exception):
    """A problem the user can fix; the CLI prints it on one line and exits 2."""


def input_error(exc: BaseException) -> str | None:
    """One line naming what was wrong with a command's input when `exc` is such a mistake (a
    file that is not UTF-8 text, a corrupt or truncated gzip, a CSV field past the limit, a
    file that cannot be opened, a number past any range, a value a column refuses); None for
    anything else (a bug: its traceback is wanted)."""
    if isinstance(exc, UnicodeDecodeError):
        return f"the input is not UTF-8 text ({exc.reason})"
    if isinstance(exc, UnicodeEncodeError):
        # An argument's bytes that are not UTF-8 arrive as lone surrogates.
        return f"an argument or input is not UTF-8 text ({exc.reason})"
    if isinstance(exc, EOFError | gzip.BadGzipFile | zlib.error):
        return f"the input is a truncated or corrupt gzip file ({exc})"
    if isinstance(exc, csv.Error):
        return f"the input is not CSV this command reads: {exc}"
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"cannot use {exc.filename}: {exc.strerror or exc}"
    if isinstance(exc, OverflowError | InvalidOperation):
        return f"a number is out of range or not a number: {exc}"
    # Only the refusals a given value causes (too long, out of range, against a check): a
    # division by zero or a unique-key race is a bug, whose traceback is wanted.
    if isinstance(exc, DBAPIError) and isinstance(exc.orig, _REFUSED_VALUES):
        return f"the database refused a value: {str(exc.orig).splitlines()[0]}"
    return None


_REFUSED_VALUES = (
    errors.StringDataRightTruncation,
    errors.NumericValueOutOfRange,
    errors.InvalidTextRepresentation,
    errors.DatetimeFieldOverflow,
    errors.CheckViolation,
)


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


def read_json(source: str) -> Any:
    """One strict JSON document from a file path or `-` (stdin)."""
    text = _read_text(source)
    try:
        return parse_json(text, field=source)
    except PayloadError as exc:
        raise CliError(str(exc)) from None


def read_price_specs(path: str) -> list[PriceSpec]:
    """A JSON list of price entries, each validated; the first bad one stops the load."""
    text = _read_text(path)
    try:
        # Decimal, never float: 0.60 must stay 0.60.
        data = parse_json(text, field=path, decimals=True)
    except PayloadError as exc:
        raise CliError(str(exc)) from None
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
