"""Tenant-scoped transactions: the second line of tenant isolation, after the queries' own
tenant filters. Migration 0008 creates the role and the row-level security policies."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

APP_ROLE = "cachemeter_app"


def scope_to_tenant(conn: Connection, tenant_id: int) -> None:
    """From here to the end of the current transaction, run as the application role, which
    sees and writes only `tenant_id`'s rows."""
    # One round trip (no parameters, so the simple protocol takes both statements); the
    # tenant is an int, so the literal cannot carry anything else.
    conn.exec_driver_sql(
        f"SET LOCAL ROLE {APP_ROLE}; SET LOCAL cachemeter.tenant_id = '{int(tenant_id)}'"
    )


@contextmanager
def tenant_transaction(engine: Engine, tenant_id: int) -> Iterator[Connection]:
    """A transaction (committed on success) in which only `tenant_id`'s rows exist."""
    with engine.begin() as conn:
        scope_to_tenant(conn, tenant_id)
        yield conn
