"""The shared store layer: engine, migrations and embedded Postgres, ORM models, queries.

Only this package builds SQL. It may use billing's value types for what it persists (prices);
it never imports ingest or dashboard.
"""
