"""The tree is the architecture; imports point down:

    cachemeter  the composition root (config, server, wsgi; api/, cli/, workers/): any below
    dashboard   -> reports, store, billing
    reports     -> store, cache, billing        (the one read model)
    ingest      -> store, cache, billing
    store       -> cache, billing
    cache       -> billing                      (pure cache behaviour)

Nothing imports the root; billing and cache stay pure; SQL is built only in store/; the client
SDK (cachemeter_client) stands alone: the standard library and httpx."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SERVER = {"cachemeter", "reports", "dashboard", "ingest", "store", "cache", "migrations"}
FORBIDDEN = {
    "billing": SERVER
    | {"sqlalchemy", "fastapi", "dash", "psycopg", "alembic", "cachemeter_client"},
    "store": {
        "ingest",
        "dashboard",
        "reports",
        "cachemeter",
        "fastapi",
        "dash",
        "cachemeter_client",
    },
    "ingest": {"dashboard", "reports", "cachemeter", "fastapi", "dash", "cachemeter_client"},
    "reports": {"ingest", "dashboard", "cachemeter", "fastapi", "dash", "cachemeter_client"},
    "dashboard": {"ingest", "cachemeter", "fastapi", "cachemeter_client"},
    "migrations": SERVER - {"migrations", "store"} | {"cachemeter_client"},
}
# What cache/ (pure cache behaviour) may import besides the standard library.
CACHE_IMPORTS = {"billing", "cache"}
CLIENT = ROOT / "clients" / "python" / "cachemeter_client"
# What the client distribution may import: its one dependency and LiteLLM, whose logger the
# callback subclasses when the proxy has it.
CLIENT_IMPORTS = {"httpx", "litellm", "cachemeter_client"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_downwards(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
        if _imports(path) & FORBIDDEN[package]
    }
    assert offenders == {}


def test_provider_field_names_live_only_in_ingest() -> None:
    # A few provider-specific field names: nothing outside ingest/ may read them.
    needles = ("cache_read_input_tokens", "cachedContentTokenCount", "prompt_cache_hit_tokens")
    hits = [
        str(path.relative_to(ROOT))
        for package in ("billing", "cache", "store", "dashboard")
        for path in (ROOT / package).rglob("*.py")
        if any(n in path.read_text() for n in needles)
    ]
    assert hits == []


def test_client_imports_only_the_standard_library_and_httpx() -> None:
    offenders = {
        path.name: sorted(extra)
        for path in CLIENT.rglob("*.py")
        if (extra := _imports(path) - CLIENT_IMPORTS - set(sys.stdlib_module_names))
    }
    assert offenders == {}


def test_cache_imports_only_billing_and_the_standard_library() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(extra)
        for path in (ROOT / "cache").rglob("*.py")
        if (extra := _imports(path) - CACHE_IMPORTS - set(sys.stdlib_module_names))
    }
    assert offenders == {}


def test_the_composition_root_is_small_and_nothing_imports_it() -> None:
    top = sorted(p.name for p in (ROOT / "cachemeter").glob("*.py"))
    assert len(top) <= 8, top
    importers = {
        str(path.relative_to(ROOT))
        for package in sorted(SERVER - {"cachemeter"})
        for path in (ROOT / package).rglob("*.py")
        if "cachemeter" in _imports(path)
    }
    assert importers == set()


# Outside the store (and the migrations), SQLAlchemy appears only as the types a connection is
# passed by and its errors: no query is built there.
SQLALCHEMY_OUTSIDE_STORE = {"Connection", "Engine"}


def test_sql_is_built_only_in_the_store() -> None:
    offenders = []
    for package in sorted(SERVER - {"store", "migrations"}):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "sqlalchemy"
                ):
                    names = {alias.name for alias in node.names}
                    if node.module != "sqlalchemy.exc" and names - SQLALCHEMY_OUTSIDE_STORE:
                        offenders.append(f"{path.relative_to(ROOT)}: {sorted(names)}")
                elif isinstance(node, ast.Import) and any(
                    a.name.startswith("sqlalchemy") for a in node.names
                ):
                    offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
