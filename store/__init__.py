"""The shared store layer: settings, engine and embedded Postgres, ORM models, queries.

Only this package builds SQL. It may use billing's value types for what it persists (prices);
it never imports ingest or dashboard.
"""
