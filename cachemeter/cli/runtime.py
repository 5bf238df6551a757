"""What every database-backed command shares: the migrated database and time parsing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from billing.moments import OutOfRange, parse_moment
from cachemeter.cli.inputs import CliError


@contextmanager
def database() -> Iterator[Any]:
    """An engine on the migrated database, disposed when the command ends."""
    from cachemeter.config import database_url, get_settings
    from store.db import make_engine, migrate

    url = database_url(get_settings())
    migrate(url)
    engine = make_engine(url, pool_size=2)
    try:
        yield engine
    finally:
        engine.dispose()


def parse_time(value: str, name: str) -> datetime:
    """An ISO date or time within the supported range; no zone means UTC, a date its midnight."""
    try:
        return parse_moment(value)
    except OutOfRange as exc:
        raise CliError(f"{name}: {exc}") from None
