"""Engine creation, database bootstrap and Alembic migrations."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

# The database is unreachable or restarting (not a bad statement): every server (the API and
# the dashboard) answers these with 503, this body and Retry-After, never a 500 or a trace.
DATABASE_DOWN: tuple[type[DBAPIError], ...] = (OperationalError, InterfaceError)
DATABASE_DOWN_DETAIL = "database unavailable, retry later"
# Long enough for a pooled connection to find a restarted or failed-over server again.
RETRY_AFTER_SECONDS = 5


def make_engine(url: str, **kwargs: Any) -> Engine:
    """A pooled engine; connections are checked before use so a restarted database recovers."""
    options: dict[str, Any] = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 10}
    options.update(kwargs)
    return create_engine(url, **options)


def alembic_config(url: str) -> Config:
    """Alembic configuration pointing at our migrations and `url`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@lru_cache(maxsize=1)
def shipped_revisions() -> tuple[str, frozenset[str]]:
    """The head revision of the migrations this code ships, and all of them."""
    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()
    assert head is not None  # the migrations are part of the package
    return head, frozenset(r.revision for r in script.walk_revisions())


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the schema to `revision`."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Downgrade the schema to `revision` (`base` drops everything)."""
    command.downgrade(alembic_config(url), revision)
