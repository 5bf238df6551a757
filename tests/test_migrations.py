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


def test_every_tenant_key_leads_with_tenant_id(db_url: str) -> None:
    """Primary keys and unique indexes of tenant-owned tables start with tenant_id: the
    column a sharded deployment distributes on (api_keys are looked up across tenants, and
    prices and reprice runs may be global: those would be reference tables)."""
    eng = create_engine(db_url)
    with eng.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT c.relname AS tbl, i.relname AS idx, a.attname AS first_column
                FROM pg_index x
                JOIN pg_class c ON c.oid = x.indrelid
                JOIN pg_class i ON i.oid = x.indexrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace
                JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = x.indkey[0]
                WHERE (x.indisunique OR x.indisprimary) AND n.nspname = current_schema()
                  AND EXISTS (SELECT 1 FROM pg_attribute t
                              WHERE t.attrelid = c.oid AND t.attname = 'tenant_id'
                                AND t.attnotnull)
                  AND c.relname NOT IN ('api_keys')
                  AND c.relkind IN ('r', 'p')
                """
            )
        ).all()
    eng.dispose()
    tables = {r.tbl for r in rows}
    assert {"usage_events", "usage_hourly", "usage_keys", "budgets", "regressions"} <= tables
    wrong = [(r.tbl, r.idx, r.first_column) for r in rows if r.first_column != "tenant_id"]
    assert wrong == []
