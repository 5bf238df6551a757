"""`make bench`: raw Postgres COPY of event-shaped rows vs end-to-end HTTP batch ingest.

Both run in one process tree on the same server (embedded Postgres unless DATABASE_URL is
set), so their ratio is meaningful even though absolute numbers drift between machines.
Prints a table and writes it as JSON (bench/results.json) for comparison between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

from store.db import make_engine, migrate
from store.embedded import start_embedded, to_sqlalchemy_url
from store.tenants import create_key, ensure_tenant

COPY_COLUMNS = (
    "tenant_id int, occurred_at timestamptz, source text, request_id text, provider text, "
    "model text, input_tokens bigint, cache_read_tokens bigint, cache_write_tokens bigint, "
    "output_tokens bigint, "
    "app text, team text, environment text, ttft_ms double precision, currency text, "
    "cost numeric(24,12), nocache_cost numeric(24,12), savings numeric(24,12), raw jsonb"
)


def _server_url() -> tuple[str, Any]:
    if os.environ.get("DATABASE_URL"):
        return to_sqlalchemy_url(os.environ["DATABASE_URL"]), None
    server = start_embedded(Path(tempfile.mkdtemp(prefix="cachemeter-bench-")), cleanup="delete")
    return to_sqlalchemy_url(server.get_uri("postgres")), server


def _fresh_database(server_url: str) -> str:
    from sqlalchemy.engine import make_url

    admin = make_url(server_url).set(drivername="postgresql", database="postgres")
    name = f"cachemeter_bench_{os.getpid()}"
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def bench_copy(url: str, rows: int) -> float:
    """Rows per second of a raw psycopg COPY into an event-shaped table with a unique index."""
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    raw = json.dumps(
        {
            "usage": {
                "prompt_tokens": 2006,
                "completion_tokens": 300,
                "prompt_tokens_details": {"cached_tokens": 1920},
            }
        }
    )
    start_at = datetime(2026, 11, 1, tzinfo=UTC)
    with psycopg.connect(libpq) as conn:
        conn.execute(f"CREATE TABLE bench_copy ({COPY_COLUMNS})")
        conn.execute("CREATE UNIQUE INDEX ON bench_copy (tenant_id, source, request_id)")
        conn.commit()
        began = time.perf_counter()
        with conn.cursor().copy("COPY bench_copy FROM STDIN") as copy:
            for i in range(rows):
                copy.write_row(
                    (
                        1,
                        start_at + timedelta(seconds=i),
                        "push",
                        f"req-{i}",
                        "openai",
                        "gpt-5.1",
                        2006,
                        1920,
                        0,
                        300,
                        "app",
                        "team",
                        "prod",
                        250.0,
                        "USD",
                        "0.0005",
                        "0.0028",
                        "0.0023",
                        raw,
                    )
                )
        conn.commit()
        return rows / (time.perf_counter() - began)


def _record(i: int, at: datetime) -> dict[str, Any]:
    if i % 2:
        return {
            "provider": "anthropic",
            "model": "claude-sonnet-4-5",
            "request_id": f"b-{i}",
            "occurred_at": at.isoformat(),
            "app": f"app-{i % 7}",
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_http(url: str, events: int, batch: int, clients: int) -> float:
    """Events per second through POST /v1/usage with `clients` concurrent senders."""
    engine = make_engine(url, pool_size=1)
    with engine.begin() as conn:
        key = create_key(conn, ensure_tenant(conn, "bench"))
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "CACHEMETER_MAX_BATCH": str(batch)}
    server = subprocess.Popen(
        [
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
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not become ready")
            time.sleep(0.2)
        at = datetime.now(UTC) - timedelta(days=1)
        batches = [
            [_record(i, at) for i in range(s, min(s + batch, events))]
            for s in range(0, events, batch)
        ]
        accepted = [0]
        lock = threading.Lock()

        def send(my_batches: list[list[dict[str, Any]]]) -> None:
            with httpx.Client(
                base_url=base, timeout=120, headers={"Authorization": f"Bearer {key}"}
            ) as client:
                for body in my_batches:
                    response = client.post("/v1/usage", json={"records": body})
                    response.raise_for_status()
                    with lock:
                        accepted[0] += response.json()["accepted"]

        threads = [
            threading.Thread(target=send, args=(batches[c::clients],)) for c in range(clients)
        ]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - began
        if accepted[0] != events:
            raise RuntimeError(f"only {accepted[0]} of {events} events accepted")
        return events / elapsed
    finally:
        server.terminate()
        server.wait(timeout=30)


PRICING_MODELS = [
    ("anthropic", "claude-sonnet-4-5"),
    ("openai", "gpt-5.1"),
    ("google", "gemini-2.5-pro"),
    ("deepseek", "deepseek-chat"),
    ("x-ai", "grok-4.7"),
]


def _pricing_rows(n: int) -> list[Any]:
    import random

    rng = random.Random(5)
    start = int((datetime.now(UTC) - timedelta(days=30)).timestamp())
    rows = []
    for _ in range(n):
        provider, model = rng.choice(PRICING_MODELS)
        inp = rng.choice([rng.randint(1_000, 20_000), rng.randint(150_000, 260_000)])
        read = rng.randint(0, inp)
        write = rng.randint(0, inp - read)
        rows.append(
            (
                provider,
                model,
                start + rng.randint(0, 30 * 86_400),
                inp,
                read,
                write,
                rng.randint(0, write),
                rng.randint(0, 2_000),
            )
        )
    return rows


def bench_pricing(records: int, genai_records: int) -> dict[str, Any]:
    """Bulk pricing vs genai-prices' calc_price once per record; totals must be identical."""
    from genai_prices import Usage as GenaiUsage
    from genai_prices import calc_price

    from billing import PriceBook
    from billing.bulk import BulkPricer

    rows = _pricing_rows(records)
    began = time.perf_counter()
    BulkPricer(PriceBook()).totals(rows)
    bulk_rate = records / (time.perf_counter() - began)
    subset = rows[:genai_records]
    began = time.perf_counter()
    genai_total = sum(
        (
            calc_price(
                GenaiUsage(
                    input_tokens=r[3],
                    cache_read_tokens=r[4],
                    cache_write_tokens=r[5],
                    cache_write_1h_tokens=r[6],
                    output_tokens=r[7],
                ),
                r[1],
                provider_id=r[0],
                genai_request_timestamp=datetime.fromtimestamp(r[2], UTC),
            ).total_price
            for r in subset
        ),
        Decimal(0),
    )
    genai_rate = genai_records / (time.perf_counter() - began)
    ours = BulkPricer(PriceBook()).totals(subset).cost.get("USD", Decimal(0))
    if ours != genai_total:
        raise RuntimeError(f"bulk total {ours} != genai-prices total {genai_total}")
    return {
        "bulk_pricing_records_per_s": round(bulk_rate),
        "genai_prices_calc_price_records_per_s": round(genai_rate),
        "ratio_bulk_to_genai_prices": round(bulk_rate / genai_rate, 1),
        "pricing_totals_identical": True,
        "pricing_target_50x_met": bulk_rate / genai_rate >= 50,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copy-rows", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--pricing-records", type=int, default=1_000_000)
    parser.add_argument("--genai-records", type=int, default=20_000)
    parser.add_argument(
        "--dashboard-events",
        type=int,
        default=10_000_000,
        help="events for the dashboard callback timings (0 skips them)",
    )
    parser.add_argument("--out", default=str(Path(__file__).with_name("results.json")))
    args = parser.parse_args()
    server_url, server = _server_url()
    try:
        url = _fresh_database(server_url)
        migrate(url)
        copy_rate = bench_copy(url, args.copy_rows)
        http_rate = bench_http(url, args.events, args.batch, args.clients)
        dashboard: dict[str, Any] = {}
        if args.dashboard_events:
            from dashboard_bench import measure, seed

            print(
                f"seeding {args.dashboard_events:,} events for the dashboard timings …",
                file=sys.stderr,
            )
            engine = make_engine(url, pool_size=2)
            tenant_id = seed(
                engine,
                args.dashboard_events,
                datetime.now(UTC),
                lambda line: print(line, file=sys.stderr),
            )
            dashboard = measure(engine, tenant_id)
            engine.dispose()
    finally:
        if server is not None:
            server.cleanup()
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "raw_copy_rows_per_s": round(copy_rate),
        "http_batch_ingest_events_per_s": round(http_rate),
        "ratio_http_to_copy": round(http_rate / copy_rate, 3),
        **bench_pricing(args.pricing_records, args.genai_records),
        "copy_rows": args.copy_rows,
        "http_events": args.events,
        "batch": args.batch,
        "clients": args.clients,
    }
    if dashboard:
        results["dashboard_events"] = args.dashboard_events
        results["dashboard_callbacks"] = dashboard
        slowest = max(v["p95_ms"] for v in dashboard.values())
        results["dashboard_slowest_p95_ms"] = slowest
        results["dashboard_target_300ms_met"] = slowest < 300
    width = max(len(k) for k in results)
    print("cachemeter bench")
    for name, value in results.items():
        if isinstance(value, dict):
            print(f"  {name}:")
            for page, timing in value.items():
                print(f"    {page:<24} p50 {timing['p50_ms']:>7} ms   p95 {timing['p95_ms']:>7} ms")
        else:
            print(f"  {name:<{width}}  {value}")
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
