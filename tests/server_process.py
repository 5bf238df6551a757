"""The real server in a child process (`python -m cachemeter serve`), for the fault tests:
SIGKILL, SIGTERM and database restarts need a process of its own."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """`cachemeter serve` on `port` against `database_url`."""

    def __init__(self, database_url: str, data_dir: Path, port: int, **env: str) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.port = port
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "CACHEMETER_DATA_DIR": str(data_dir),
            "CACHEMETER_REGRESSION_INTERVAL_SECONDS": "0",
            "CACHEMETER_RETENTION_INTERVAL_HOURS": "0",
            "CACHEMETER_SECRET_KEY": "fault-tests",
            # Loopback only: the fault tests read /metrics without a token.
            "CACHEMETER_METRICS_PUBLIC": "true",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, wait_ready: bool = True) -> None:
        """Start the process; by default wait until it answers /healthz (and /readyz)."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cachemeter", "serve", "--port", str(self.port)],
            env=self.env,
        )
        deadline = time.monotonic() + 60
        probe = "/readyz" if wait_ready else "/healthz"
        while True:
            try:
                if httpx.get(self.url + probe, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("server did not come up")
            time.sleep(0.1)

    def signal(self, sig: signal.Signals) -> None:
        """Send `sig` to the server."""
        assert self.process is not None
        self.process.send_signal(sig)

    def wait(self, timeout: float) -> int:
        """The exit code, waiting at most `timeout` seconds."""
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        """Kill it if it still runs."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@contextmanager
def server_process(database_url: str, data_dir: Path, **env: str) -> Iterator[ServerProcess]:
    """A started server, killed at the end whatever happened."""
    server = ServerProcess(database_url, data_dir, free_port(), **env)
    try:
        server.start()
        yield server
    finally:
        server.stop()
