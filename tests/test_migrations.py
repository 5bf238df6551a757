"""The schema is built by the real Alembic migrations, and they reverse cleanly."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, create_engine, inspect, text

from cachemeter.config import Settings
from cachemeter.server import create_app
from store.db import downgrade, make_engine, migrate, shipped_revisions


def _tables(url: str) -> set[str]:
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        eng.dispose()


def _app(engine: Engine) -> FastAPI:
    """The whole app on `engine`, with no background passes."""
    return create_app(
        Settings(secret_key="s", regression_interval_seconds=0, retention_interval_hours=0),
        engine=engine,
        registry=CollectorRegistry(),
    )


def test_readyz_says_an_unmigrated_database_is_not_ready(fresh_database: str) -> None:
    engine = make_engine(fresh_database, pool_size=1)
    try:
        with TestClient(_app(engine)) as client:
            response = client.get("/readyz")
    finally:
        engine.dispose()
    assert response.status_code == 503
    assert "cachemeter migrate" in response.json()["reason"]


def test_readyz_says_a_database_behind_this_version_is_not_ready(fresh_database: str) -> None:
    head, _ = shipped_revisions()
    migrate(fresh_database, "0010")  # one migration short of this version's head
    engine = make_engine(fresh_database, pool_size=1)
    try:
        with TestClient(_app(engine)) as client:
            behind = client.get("/readyz")
            migrate(fresh_database)
            ready = client.get("/readyz")
    finally:
        engine.dispose()
    assert behind.status_code == 503
    assert behind.json()["reason"] == (
        f"the database is at migration 0010, this version needs {head}: run `cachemeter migrate`"
    )
    assert ready.status_code == 200


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


def test_an_ordinary_database_owner_migrates_and_runs_under_row_security(
    pg_server_url: str,
) -> None:
    """Production is not a superuser: the owner may not grant itself the application role
    (the migration says what to ask for); once a superuser has, migration and a tenant's
    ingest work, and row-level security binds the requests."""
    import secrets

    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    from store.db import make_engine
    from tests.factories import anthropic_record, tenant_with_key

    suffix = secrets.token_hex(4)
    user, database = f"cm_owner_{suffix}", f"cm_owned_{suffix}"
    admin_url = make_url(pg_server_url).set(drivername="postgresql")
    admin = admin_url.render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEROLE").format(sql.Identifier(user))
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(database), sql.Identifier(user)
            )
        )
        # The role may exist already (roles are cluster-wide), made by another database.
        conn.execute(
            "DO $$ BEGIN CREATE ROLE cachemeter_app NOLOGIN; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
    url = (
        make_url(pg_server_url)
        .set(username=user, database=database)
        .render_as_string(hide_password=False)
    )
    try:
        try:
            migrate(url)
        except Exception as exc:  # Alembic passes the database error on as it is
            message = str(exc)
        else:
            raise AssertionError("an owner without the role must not migrate")
        assert "cachemeter_app" in message and f"GRANT cachemeter_app TO {user}" in message
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("GRANT cachemeter_app TO {}").format(sql.Identifier(user)))
        migrate(url)
        engine = make_engine(url, pool_size=2)
        try:
            from fastapi.testclient import TestClient
            from prometheus_client import CollectorRegistry

            from cachemeter.config import Settings
            from cachemeter.server import create_app

            _, a_key = tenant_with_key(engine, "acme")
            _, b_key = tenant_with_key(engine, "bravo")
            app = create_app(
                Settings(secret_key="s", regression_interval_seconds=0),
                engine=engine,
                registry=CollectorRegistry(),
            )
            with TestClient(app) as client:
                for key in (a_key, b_key):
                    response = client.post(
                        "/v1/usage",
                        json=anthropic_record(),
                        headers={"Authorization": f"Bearer {key}"},
                    )
                    assert response.json()["accepted"] == 1
                summary = client.get(
                    "/v1/reports/summary?start=2026-11-01&end=2026-12-01",
                    headers={"Authorization": f"Bearer {a_key}"},
                ).json()
                assert sum(g["requests"] for g in summary["groups"]) == 1
                assert client.get("/readyz").json() == {"status": "ready"}
                # Should the grant go missing (a restore elsewhere, a new login), the pods
                # report not ready, and why, instead of failing every request.
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(
                        sql.SQL("REVOKE cachemeter_app FROM {}").format(sql.Identifier(user))
                    )
                engine.dispose()  # new sessions see the revocation
                unready = client.get("/readyz")
                assert unready.status_code == 503
                assert "GRANT cachemeter_app" in unready.json()["reason"]
        finally:
            engine.dispose()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(user)))


def test_rollup_backfills_equal_what_ingest_kept(fresh_database: str) -> None:
    """Upgrading a database that already holds events fills reported_hourly (0007) and
    prefix_hourly (0009) with exactly what ingest keeps incrementally."""
    from datetime import UTC, datetime

    from prometheus_client import CollectorRegistry

    from cachemeter.cli.demo import demo_records
    from ingest.metrics import IngestMetrics
    from ingest.service import Ingestor
    from store.db import make_engine
    from store.tenants import ensure_tenant

    migrate(fresh_database)
    engine = make_engine(fresh_database, pool_size=2)
    now = datetime(2026, 11, 24, tzinfo=UTC)
    records = demo_records(now, days=2)
    for i, record in enumerate(records[::3]):
        record["reported_cost"] = f"0.{i % 991:06d}"
    with engine.begin() as conn:
        tenant = ensure_tenant(conn, "acme")
    ingestor = Ingestor(engine, IngestMetrics(CollectorRegistry()))
    for i in range(0, len(records), 500):
        ingestor.ingest(tenant, records[i : i + 500], source="push", received_at=now)

    def snapshot(table: str, order: str) -> list[dict[str, object]]:
        with engine.connect() as conn:
            rows = conn.execute(text(f"SELECT * FROM {table} ORDER BY {order}")).mappings()
            return [{k: v for k, v in row.items() if k != "id"} for row in rows]

    tables = {
        "reported_hourly": "tenant_id, hour, provider, model NULLS FIRST",
        "prefix_hourly": "tenant_id, hour, app NULLS FIRST, prefix, provider,"
        " model NULLS FIRST, currency NULLS FIRST",
    }
    kept = {table: snapshot(table, order) for table, order in tables.items()}
    assert all(kept.values())
    assert any(
        r["whatif_hit_requests"] or r["whatif_rewrite_tokens"] for r in kept["prefix_hourly"]
    )
    engine.dispose()
    downgrade(fresh_database, "0006")
    assert not {"reported_hourly", "prefix_hourly"} & _tables(fresh_database)
    migrate(fresh_database)
    engine = make_engine(fresh_database, pool_size=2)
    try:
        for table, order in tables.items():
            assert snapshot(table, order) == kept[table], table
    finally:
        engine.dispose()


def test_fit_syy_backfill_is_the_sum_of_squared_ttft(fresh_database: str) -> None:
    """0017 fills usage_hourly.fit_syy of the hours rolled up before it from the stored events:
    Σ ttft_ms² per rollup row, NULL TTFTs and NULL dimensions as the rollup groups them."""
    from store.db import make_engine
    from tests.factories import anthropic_record, ingested

    migrate(fresh_database)
    engine = make_engine(fresh_database, pool_size=2)
    records = [
        # app "review", one hour: 100² + 200² = 50,000 (the untimed request adds nothing).
        anthropic_record(request_id="a", app="review", ttft_ms=100),
        anthropic_record(request_id="b", app="review", ttft_ms=200),
        anthropic_record(request_id="c", app="review"),
        # No app, the next hour: 30² = 900; 2.5² = 6.25.
        anthropic_record(request_id="d", occurred_at="2026-11-20T11:00:00Z", ttft_ms=30),
        anthropic_record(request_id="e", occurred_at="2026-11-20T11:30:00Z", ttft_ms=2.5),
        # No price known, so no currency: 40² = 1,600.
        {
            "request_id": "f",
            "provider": "stepfun",
            "model": "step-nope-1",
            "occurred_at": "2026-11-20T10:00:00Z",
            "ttft_ms": 40,
            "usage": {"prompt_tokens": 5, "completion_tokens": 1},
        },
        # No TTFT at all in its row: 0.
        anthropic_record(request_id="g", app="batch"),
    ]
    try:
        ingested(engine, records)
    finally:
        engine.dispose()
    downgrade(fresh_database, "0016")
    migrate(fresh_database)
    engine = create_engine(fresh_database)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT to_char(hour AT TIME ZONE 'UTC', 'HH24') AS h, app, provider,"
                    " fit_n, fit_syy FROM usage_hourly"
                )
            ).all()
            default = conn.execute(
                text(
                    "SELECT column_default FROM information_schema.columns"
                    " WHERE table_name = 'usage_hourly' AND column_name = 'fit_syy'"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    assert {(r.h, r.app, r.provider): (r.fit_n, r.fit_syy) for r in rows} == {
        ("10", "review", "anthropic"): (2, 50_000),
        ("11", None, "anthropic"): (2, 906.25),
        ("10", None, "stepfun"): (1, 1_600),
        ("10", "batch", "anthropic"): (0, 0),
    }
    # Filled, the column has no default: ingest always writes it.
    assert default is None


def test_prefix_daily_money_backfill_splits_rows_by_currency(fresh_database: str) -> None:
    """0018 refills prefix_daily from the stored events with a row per currency and its cost
    and cost without caching, as ingest keeps it; downgrading merges the currencies again."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from billing.catalogue import PriceSpec
    from store.db import make_engine
    from store.prices import add_price
    from tests.factories import anthropic_record, ingested

    migrate(fresh_database)
    engine = make_engine(fresh_database, pool_size=2)
    # From noon acme pays Claude Sonnet 4.5 in EUR: 2 input, 0.20 read, 10 output per MTok.
    with engine.begin() as conn:
        add_price(
            conn,
            PriceSpec(
                provider="anthropic",
                model="claude-sonnet-4-5",
                currency="EUR",
                input_mtok=Decimal(2),
                cache_read_mtok=Decimal("0.2"),
                output_mtok=Decimal(10),
                effective_from=datetime(2026, 11, 20, 12, tzinfo=UTC),
                tenant="acme",
            ),
        )
    records = [
        anthropic_record(
            request_id=currency,
            occurred_at=at,
            plain=1000,
            read=100_000,
            output=0,
            prefix_hash="p-x",
        )
        for currency, at in (("usd", "2026-11-20T10:00:00Z"), ("eur", "2026-11-20T13:00:00Z"))
    ] + [
        {
            "request_id": "unpriced",
            "prefix_hash": "p-y",
            "provider": "stepfun",
            "model": "step-nope-1",
            "occurred_at": "2026-11-20T10:00:00Z",
            "usage": {"prompt_tokens": 5000, "completion_tokens": 1},
        },
    ]

    def snapshot(engine: Engine) -> list[dict[str, object]]:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT * FROM prefix_daily ORDER BY prefix, currency NULLS FIRST")
            ).mappings()
            return [{k: v for k, v in row.items() if k != "id"} for row in rows]

    try:
        ingested(engine, records)
        kept = snapshot(engine)
    finally:
        engine.dispose()
    # USD (list price): 1,000 x 3 + 100,000 x 0.30 = $0.033 against 101,000 x 3 = $0.303;
    # EUR: 1,000 x 2 + 100,000 x 0.20 = 0.022 against 101,000 x 2 = 0.202.
    money = [
        (r["prefix"], r["currency"], r["requests"], r["cost"], r["nocache_cost"]) for r in kept
    ]
    assert money == [
        ("p-x", "EUR", 1, Decimal("0.022"), Decimal("0.202")),
        ("p-x", "USD", 1, Decimal("0.033"), Decimal("0.303")),
        ("p-y", None, 1, Decimal(0), Decimal(0)),
    ]
    downgrade(fresh_database, "0017")
    engine = make_engine(fresh_database, pool_size=2)
    try:
        with engine.connect() as conn:
            merged = conn.execute(
                text("SELECT prefix, requests, input_tokens FROM prefix_daily ORDER BY prefix")
            ).all()
        assert [tuple(r) for r in merged] == [("p-x", 2, 202_000), ("p-y", 1, 5000)]
    finally:
        engine.dispose()
    migrate(fresh_database)
    engine = make_engine(fresh_database, pool_size=2)
    try:
        assert snapshot(engine) == kept
    finally:
        engine.dispose()
