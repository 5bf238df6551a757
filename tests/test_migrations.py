"""The schema is built by the real Alembic migrations, and they reverse cleanly."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect, text

from store.db import downgrade, migrate


def _tables(url: str) -> set[str]:
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        eng.dispose()


def test_upgrade_downgrade_upgrade(fresh_database: str) -> None:
    migrate(fresh_database)
    assert {"tenants", "api_keys", "prices", "usage_keys", "usage_events"} <= _tables(
        fresh_database
    )
    downgrade(fresh_database, "base")
    assert _tables(fresh_database) <= {"alembic_version"}
    migrate(fresh_database)
    assert "usage_events" in _tables(fresh_database)


def test_usage_events_is_range_partitioned(db_url: str) -> None:
    eng = create_engine(db_url)
    with eng.connect() as conn:
        strategy = conn.execute(
            text(
                "SELECT partstrat FROM pg_partitioned_table"
                " WHERE partrelid = 'usage_events'::regclass"
            )
        ).scalar_one()
    eng.dispose()
    assert strategy == "r"


def test_models_match_migrations(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from store.models import Base

    eng = create_engine(db_url)
    with eng.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    eng.dispose()
    assert diff == []


def test_downgrade_0002_with_discount_rows(fresh_database: str) -> None:
    migrate(fresh_database)
    eng = create_engine(fresh_database)
    with eng.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO prices (provider, model, currency, discount_pct)"
                " VALUES ('openai', '*', 'USD', 20)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO prices (provider, model, currency, input_mtok, output_mtok,"
                " cache_read_mtok, cache_write_mtok, cache_write_1h_mtok)"
                " VALUES ('stepfun', 'step-2', 'CNY', 5, 20, 1, 5, 5)"
            )
        )
    eng.dispose()
    downgrade(fresh_database, "0001")
    eng = create_engine(fresh_database)
    with eng.connect() as conn:
        # The discount row cannot exist in 0001's schema (rates NOT NULL); the rates row stays.
        assert conn.execute(text("SELECT provider FROM prices")).scalars().all() == ["stepfun"]
    eng.dispose()
    migrate(fresh_database)


def test_price_rows_need_rates_or_a_discount(db_url: str) -> None:
    import pytest
    from sqlalchemy.exc import IntegrityError

    eng = create_engine(db_url)
    with pytest.raises(IntegrityError, match="rates_or_discount"), eng.begin() as conn:
        conn.execute(
            text("INSERT INTO prices (provider, model, currency) VALUES ('x', 'y', 'USD')")
        )
    eng.dispose()
