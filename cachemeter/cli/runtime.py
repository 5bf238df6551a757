"""What every database-backed command shares: the migrated database and time parsing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from typing import Any

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
    """An ISO date or time; no zone means UTC, a date means its midnight."""
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CliError(f"{name}: not an ISO date or time: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
