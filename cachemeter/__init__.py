"""Composition root: the CLI, the server (FastAPI + Dash) and the demo data generator."""
