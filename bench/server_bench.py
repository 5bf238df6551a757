"""The running server under load: single-record latency at a fixed rate, batch ingest
throughput with concurrent clients, and the server's memory while it ingests."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import psutil

from store.db import make_engine
from store.tenants import create_key, ensure_tenant

MIB = 1024 * 1024
JSON = "application/json"


@dataclass
class Server:
    """A cachemeter API server process and an API key for its bench tenant."""

    base: str
    key: str
    process: psutil.Process
    rss_samples: list[tuple[int, int]] = field(default_factory=list)

    def rss(self) -> int:
        """Resident memory of the server process, bytes."""
        return int(self.process.memory_info().rss)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(url: str, batch: int) -> Iterator[Server]:
    """The server as deployed (uvicorn, one worker per process, uvloop and httptools when
    installed, no access log), on loopback, against database `url`."""
    engine = make_engine(url, pool_size=1)
    with engine.begin() as conn:
        key = create_key(conn, ensure_tenant(conn, "bench"))
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "CACHEMETER_MAX_BATCH": str(batch)}
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "cachemeter.server:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    process = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not become ready")
            time.sleep(0.2)
        yield Server(base, key, psutil.Process(process.pid))
    finally:
        process.terminate()
        process.wait(timeout=30)


def record(i: int, at: datetime) -> dict[str, Any]:
    """A push record: alternately an Anthropic usage object and an OpenAI chat response,
    a millisecond apart (within an hour), each naming one of 20 cached prefixes."""
    at = at + timedelta(milliseconds=i % 3_600_000)
    if i % 2:
        return {
            "provider": "anthropic",
            "model": "claude-sonnet-4-5",
            "request_id": f"b-{i}",
            "occurred_at": at.isoformat(),
            "app": f"app-{i % 7}",
            "prompt_cache_key": f"system-{i % 20}",
            "team": f"team-{i % 3}",
            "ttft_ms": 300.0,
            "usage": {
                "input_tokens": 50,
                "cache_read_input_tokens": 4000,
                "cache_creation_input_tokens": i % 500,
                "output_tokens": 200,
            },
        }
    return {
        "request_id": f"b-{i}",
        "occurred_at": at.isoformat(),
        "app": f"app-{i % 7}",
        "prompt_cache_key": f"system-{i % 20}",
        "response": {
            "id": f"chatcmpl-{i}",
            "object": "chat.completion",
            "model": "gpt-5.1",
            "usage": {
                "prompt_tokens": 3000,
                "completion_tokens": 150,
                "prompt_tokens_details": {"cached_tokens": 2048},
            },
        },
    }


def single_record_latency(server: Server, rate: float, requests: int) -> dict[str, float]:
    """p50/p99 ms of one-record POSTs sent on a fixed schedule (`rate` per second).

    Latency runs from each request's scheduled time, so a slow response that delays the
    next send counts against the server (no coordinated omission)."""
    at = datetime.now(UTC) - timedelta(hours=2)
    latencies = []
    with httpx.Client(
        base_url=server.base, timeout=30, headers={"Authorization": f"Bearer {server.key}"}
    ) as client:
        client.post("/v1/usage", json=record(-1, at)).raise_for_status()  # connect, warm up
        began = time.perf_counter()
        for i in range(requests):
            scheduled = began + i / rate
            pause = scheduled - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            response = client.post("/v1/usage", json=record(10_000_000_000 + i, at))
            response.raise_for_status()
            latencies.append((time.perf_counter() - scheduled) * 1000)
    latencies.sort()
    return {
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)], 1),
        "rate_per_s": rate,
        "requests": requests,
    }


def cpu_seconds(process: psutil.Process, *, children: bool = False) -> float:
    """CPU seconds `process` has used, with its children's (live and exited) if asked."""
    times = process.cpu_times()
    total = times.user + times.system
    if children:
        total += times.children_user + times.children_system
        for child in process.children(recursive=True):
            try:
                child_times = child.cpu_times()
            except psutil.Error:  # exited meanwhile: counted in children_* from now on
                continue
            total += child_times.user + child_times.system
    return float(total)


def run_clients(send: Callable[[list[int]], None], starts: list[int], clients: int) -> float:
    """Seconds for `clients` threads to `send` their share of the batch starts; the first
    failure of any of them is raised here."""
    failures: list[BaseException] = []

    def client(mine: list[int]) -> None:
        try:
            send(mine)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=client, args=(starts[c::clients],)) for c in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return time.perf_counter() - began


def batch_ingest(
    server: Server,
    events: int,
    batch: int,
    clients: int,
    postgres: psutil.Process | None = None,
) -> dict[str, Any]:
    """Events/s through POST /v1/usage, the server's RSS after a tenth and all of them, and
    CPU microseconds per event of the server, the clients and (given its postmaster)
    Postgres. The bodies are encoded before the clock starts, so the clients' CPU is their
    HTTP work alone and the figures measure the server, not the bench's own JSON."""
    at = datetime.now(UTC) - timedelta(days=1)
    starts = list(range(0, events, batch))
    bodies = {
        start: orjson.dumps(
            {"records": [record(i, at) for i in range(start, min(start + batch, events))]}
        )
        for start in starts
    }
    accepted = [0]
    lock = threading.Lock()
    tenth: dict[str, int] = {}
    peak = [server.rss()]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.25):
            peak[0] = max(peak[0], server.rss())

    def send(mine: list[int]) -> None:
        with httpx.Client(
            base_url=server.base, timeout=120, headers={"Authorization": f"Bearer {server.key}"}
        ) as client:
            for start in mine:
                response = client.post(
                    "/v1/usage", content=bodies[start], headers={"Content-Type": JSON}
                )
                response.raise_for_status()
                with lock:
                    accepted[0] += response.json()["accepted"]
                    if "rss" not in tenth and accepted[0] >= events // 10:
                        tenth["rss"], tenth["events"] = server.rss(), accepted[0]

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    me = psutil.Process()
    cpu_before = cpu_seconds(server.process), cpu_seconds(me)
    pg_before = cpu_seconds(postgres, children=True) if postgres else 0.0
    elapsed = run_clients(send, starts, clients)
    cpu = {
        "server_cpu_us_per_event": cpu_seconds(server.process) - cpu_before[0],
        "client_cpu_us_per_event": cpu_seconds(me) - cpu_before[1],
    }
    if postgres:
        cpu["postgres_cpu_us_per_event"] = cpu_seconds(postgres, children=True) - pg_before
    done.set()
    sampler.join()
    end_rss = server.rss()
    if accepted[0] != events:
        raise RuntimeError(f"only {accepted[0]} of {events} events accepted")
    return {
        "events_per_s": events / elapsed,
        "rss_mib_after_tenth": round(tenth["rss"] / MIB, 1),
        "events_at_tenth": tenth["events"],
        "rss_mib_at_end": round(end_rss / MIB, 1),
        "rss_mib_peak": round(max(peak[0], end_rss) / MIB, 1),
        **{name: round(seconds * 1e6 / events, 1) for name, seconds in cpu.items()},
    }
