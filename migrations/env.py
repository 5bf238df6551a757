"""Alembic environment: the schema is store.models' metadata; the URL comes from the caller."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from store.models import Base

config = context.config
target_metadata = Base.metadata


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "alembic needs sqlalchemy.url (use `cachemeter migrate`)"
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            # Fail fast rather than queue behind a long transaction holding a table lock.
            connection.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
            context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
