"""The `cachemeter` command. Errors a user can fix exit 2 with one line on stderr."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from cachemeter.cli import exports, finance, prices
from cachemeter.cli.inputs import CliError, input_error, read_json, read_price_specs
from cachemeter.cli.runtime import database, parse_time

MAX_BATCH = 1000


def _at(value: str | None) -> datetime:
    return parse_time(value, "--at") if value is not None else datetime.now(UTC)


def cmd_explain(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from billing import PriceBook
    from cachemeter.cli.explain import explain
    from ingest.envelope import RecordIn, describe_validation_error
    from ingest.errors import PayloadError

    payload = read_json(args.file)
    provider, model, at = args.provider, args.model, _at(args.at) if args.at else None
    if isinstance(payload, dict) and "payload" in payload and "expected" in payload:
        # A shared fixture file: its payload, with its provider and model as hints.
        provider = provider or payload.get("provider")
        model = model or payload.get("model")
        payload = payload["payload"]
    elif (
        isinstance(payload, dict)
        and ("usage" in payload or "response" in payload)
        and set(payload) <= set(RecordIn.model_fields)
    ):
        # A push record, as POSTed to /v1/usage: its fields are the hints.
        try:
            record = RecordIn.model_validate(payload)
        except ValidationError as exc:
            raise CliError(f"{args.file}: {describe_validation_error(exc.errors())}") from None
        provider, model = provider or record.provider, model or record.model
        at = at or record.occurred_at
        payload = record.payload
    entries = [spec.to_entry() for spec in read_price_specs(args.prices)] if args.prices else []
    try:
        out = explain(payload, PriceBook(entries), at or _at(None), provider, model)
    except PayloadError as exc:
        raise CliError(f"{args.file}: {exc}") from None
    print(json.dumps(out, indent=2))
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from cachemeter.config import database_url, get_settings
    from store.db import migrate

    migrate(database_url(get_settings()))
    print("database migrated to head", file=sys.stderr)
    return 0


def _ingestor(engine: Any, metrics: Any = None) -> Any:
    """An Ingestor as the server's; `metrics`: the counters to move (default: this process's
    own, which no scrape sees)."""
    from prometheus_client import CollectorRegistry

    from cachemeter.config import get_settings
    from cachemeter.server import session_secret
    from ingest.metrics import IngestMetrics
    from ingest.service import Ingestor

    settings = get_settings()
    # End users are hashed under the server's secret: the same as the API's.
    key = session_secret(settings).encode()
    return Ingestor(
        engine,
        metrics or IngestMetrics(CollectorRegistry()),
        settings.retention_months,
        end_user_key=key,
        keep_raw=settings.raw_payloads != "off",
    )


def _non_negative(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"{number} is negative")
    return number


def cmd_retention(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from cachemeter.config import get_settings
    from store.retention import apply_retention

    settings = get_settings()
    months = args.months if args.months is not None else settings.retention_months
    raw_days = args.raw_days if args.raw_days is not None else settings.retention_raw_days
    with database() as engine:
        report = apply_retention(
            engine,
            datetime.now(UTC),
            months=months,
            raw_days=raw_days,
            ahead=settings.partitions_ahead,
            dry_run=args.dry_run,
        )
    print(
        json.dumps(
            {"dry_run": args.dry_run, "months": months, "raw_days": raw_days, **asdict(report)}
        )
    )
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tqdm import tqdm

    from cachemeter.cli.importer import import_file
    from cachemeter.config import get_settings
    from store.tenants import ensure_tenant

    if args.rejects:
        # Before anything is imported: a rejects file that cannot be written is a mistake
        # to hear of first, not after the records are stored.
        rejects = Path(args.rejects)
        writable = (
            rejects.is_file() and os.access(rejects, os.W_OK)
            if rejects.exists()
            else rejects.parent.is_dir() and os.access(rejects.parent, os.W_OK)
        )
        if not writable:
            raise CliError(
                f"--rejects: cannot write {args.rejects!r} (a folder, not writable, or no such"
                " folder)"
            )
    reports = []
    with database() as engine:
        with engine.begin() as conn:
            tenant = ensure_tenant(conn, args.tenant)
        ingestor = _ingestor(engine)
        for name in args.files:
            path = Path(name)
            bar = tqdm(
                total=path.stat().st_size if path.exists() else None,
                unit="B",
                unit_scale=True,
                desc=path.name,
                file=sys.stderr,
                disable=args.quiet,
            )

            def progress(done: int, total: int, bar: Any = bar) -> None:
                bar.update(max(0, done - bar.n))

            try:
                report = import_file(
                    ingestor,
                    tenant,
                    path,
                    batch=args.batch,
                    checkpoints=get_settings().data_dir / "imports",
                    restart=args.restart,
                    progress=progress,
                )
            finally:
                bar.close()
            if report.resumed_after:
                print(f"{path}: resumed after line {report.resumed_after:,}", file=sys.stderr)
            reports.append(report)
    rejected = [line for r in reports for line in r.rejected_lines]
    for location, error in rejected[:50]:
        print(f"rejected {location}: {error}", file=sys.stderr)
    if len(rejected) > 50:
        print(
            f"… and {len(rejected) - 50} more rejected (--rejects FILE lists all)", file=sys.stderr
        )
    if args.rejects:
        with open(args.rejects, "w", encoding="utf-8") as out:
            for location, error in rejected:
                out.write(json.dumps({"line": location, "error": error}) + "\n")
    totals = {
        k: sum(r.as_dict()[k] for r in reports)
        for k in ("accepted", "duplicates", "rejected", "conflicts", "unpriced")
    }
    print(json.dumps({**totals, "files": [r.as_dict() for r in reports]}))
    return 2 if totals["rejected"] or totals["conflicts"] else 0


def _litellm_file_rows(path: str) -> Iterator[dict[str, Any]]:
    import csv as csv_module

    from ingest.errors import PayloadError
    from ingest.json_body import parse_json

    if path.lower().endswith(".csv"):
        try:
            with open(path, encoding="utf-8", newline="") as handle:
                yield from csv_module.DictReader(handle)
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
        return
    data = read_json(path) if path.lower().endswith(".json") else None
    if data is not None:
        yield from (data if isinstance(data, list) else [data])
        return
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        yield parse_json(line, field=f"{path}:{number}")
                    except PayloadError as exc:
                        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None


# What a spend log row counts with: LiteLLM_SpendLogs' token columns, or its metadata (which
# carries the provider's usage object).
_SPEND_LOG_COUNTS = frozenset({"prompt_tokens", "completion_tokens", "metadata"})


def cmd_ingest_litellm(args: argparse.Namespace) -> int:
    from cachemeter_client.litellm import record_from_log
    from store.litellm_logs import spend_log_rows
    from store.tenants import ensure_tenant

    if bool(args.dsn) == bool(args.files):
        raise CliError("give either --dsn (LiteLLM's Postgres) or spend-log export files")
    since = parse_time(args.since, "--since") if args.since else None
    totals = {"accepted": 0, "duplicates": 0, "rejected": 0, "skipped_cache_hits": 0}
    with database() as engine:
        with engine.begin() as conn:
            tenant = ensure_tenant(conn, args.tenant)
        ingestor = _ingestor(engine)
        rows: Iterator[dict[str, Any]] = (
            spend_log_rows(args.dsn, since)
            if args.dsn
            else (row for path in args.files for row in _litellm_file_rows(path))
        )
        batch: list[dict[str, Any]] = []

        def flush() -> None:
            result = ingestor.ingest(tenant, batch, source="litellm", received_at=datetime.now(UTC))
            totals["accepted"] += result.accepted
            totals["duplicates"] += result.duplicates
            totals["rejected"] += len(result.rejected)
            for rejection in result.rejected[:20]:
                print(
                    f"rejected {batch[rejection.index].get('request_id')}: {rejection.error}",
                    file=sys.stderr,
                )
            batch.clear()

        def reject(name: str, why: str) -> None:
            # A row LiteLLM never wrote is refused alone, like an ingest rejection.
            totals["rejected"] += 1
            print(f"rejected {name}: not a spend log: {why}", file=sys.stderr)

        try:
            for number, row in enumerate(rows, start=1):
                if not isinstance(row, dict):
                    reject(f"row {number}", "not an object")
                    continue
                name = row.get("request_id") or row.get("id") or f"row {number}"
                # Every spend log has its counts (LiteLLM_SpendLogs' columns, or the logging
                # payload's usage in metadata): a row without is another file.
                if not _SPEND_LOG_COUNTS & row.keys():
                    reject(name, f"none of the columns {', '.join(sorted(_SPEND_LOG_COUNTS))}")
                    continue
                try:
                    record = record_from_log(row)
                except (ValueError, TypeError, RecursionError) as exc:  # counts not numbers, say
                    reject(name, str(exc))
                    continue
                if record is None:
                    totals["skipped_cache_hits"] += 1
                    continue
                batch.append(record)
                if len(batch) >= args.batch:
                    flush()
            if batch:
                flush()
        except Exception as exc:  # psycopg errors reading the DSN: one clear line
            if type(exc).__module__.startswith("psycopg"):
                raise CliError(
                    f"cannot read LiteLLM spend logs: {str(exc).splitlines()[0]}"
                ) from None
            raise
    print(json.dumps(totals))
    return 2 if totals["rejected"] else 0


def cmd_tenants(args: argparse.Namespace) -> int:
    """`tenants delete NAME --confirm NAME`: a tenant and every row of theirs."""
    from store.tenants import delete_tenant, find_tenant, revoke_all_keys

    if args.confirm != args.name:
        raise CliError(f"--confirm: repeat the tenant's name ({args.name!r}) to delete it")
    with database() as engine:
        with engine.begin() as conn:
            tenant = find_tenant(conn, args.name)
            if tenant is None:
                raise CliError(f"no tenant named {args.name!r}")
            # First, and committed: no new batch of theirs authenticates from here on.
            revoked = revoke_all_keys(conn, tenant.id, datetime.now(UTC))
        with engine.begin() as conn:
            counts = delete_tenant(conn, tenant.id)
    print(json.dumps({"tenant": args.name, "keys_revoked": revoked, "rows_deleted": counts}))
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from store.tenants import (
        create_key,
        ensure_tenant,
        find_tenant,
        key_scopes,
        list_keys,
        revoke_key,
        rotate_key,
    )

    with database() as engine, engine.begin() as conn:
        if args.keys_command == "revoke":
            count = revoke_key(conn, args.prefix)
            if not count:
                raise CliError(f"no active key starts with {args.prefix!r}")
            print(f"revoked {count} key(s)", file=sys.stderr)
            return 0
        if args.keys_command == "create":
            try:
                scopes = key_scopes(args.scope or ["ingest,read"])
            except ValueError as exc:
                raise CliError(f"--scope: {exc}") from None
            tenant = ensure_tenant(conn, args.tenant)
            key = create_key(conn, tenant, args.name, scopes)
            print(
                f"API key for tenant {tenant.name!r} with scopes {', '.join(scopes)}"
                " (shown once, store it now):",
                file=sys.stderr,
            )
            print(key)
            return 0
        found = find_tenant(conn, args.tenant)
        if found is None:
            raise CliError(f"no tenant called {args.tenant!r}")
        if args.keys_command == "rotate":
            rotated = rotate_key(conn, found.id, args.prefix, timedelta(hours=args.grace_hours))
            if rotated is None:
                raise CliError(f"tenant {found.name!r} has no usable key starting {args.prefix!r}")
            key, old = rotated
            print(
                f"new key with scopes {', '.join(old.scopes)}; {old.prefix}… keeps working until"
                f" {old.expires_at:%Y-%m-%d %H:%M} UTC (shown once, store it now):",
                file=sys.stderr,
            )
            print(key)
            return 0
        for info in list_keys(conn, found.id):
            state = (
                "revoked"
                if info.revoked_at
                else f"expires {info.expires_at:%Y-%m-%d %H:%M}"
                if info.expires_at
                else "active"
            )
            used = f"{info.last_used_at:%Y-%m-%d %H:%M}" if info.last_used_at else "never"
            print(
                f"{info.prefix}\t{','.join(info.scopes)}\t{state}\tlast used {used}"
                f"\t{info.name or ''}"
            )
    return 0


def _load_demo(engine: Any, tenant: str, days: int, metrics: Any = None) -> dict[str, int]:
    from cachemeter.cli.demo import load_demo

    return load_demo(
        _ingestor(engine, metrics), engine, tenant_name=tenant, days=days, now=datetime.now(UTC)
    )


def cmd_demo(args: argparse.Namespace) -> int:
    with database() as engine:
        print(json.dumps(_load_demo(engine, args.tenant, args.days)))
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from cachemeter.config import get_settings
    from cachemeter.server import create_app
    from store.tenants import SCOPES, count_keys, create_key, ensure_tenant

    settings = get_settings()
    host = args.host or settings.host
    port = args.port or settings.port
    with database() as engine:
        with engine.begin() as conn:
            tenant = ensure_tenant(conn, settings.default_tenant)
            first = count_keys(conn, tenant) == 0
            new_key = create_key(conn, tenant, "first start", SCOPES) if first else None
        if new_key:
            print(
                f"\nAPI key for tenant {tenant.name!r} (shown once, store it now):\n{new_key}\n",
                file=sys.stderr,
            )
        app = create_app(settings, engine=engine)
        if args.demo:
            print("loading demo data …", file=sys.stderr)
            # Through the server's counters, so /metrics (and Grafana) show the demo too.
            result = _load_demo(engine, settings.demo_tenant, 4, app.state.metrics)
            print(json.dumps(result), file=sys.stderr)
        print(
            f"cachemeter: API http://{host}:{port}/docs  dashboard http://{host}:{port}/dashboard/",
            file=sys.stderr,
        )
        run_server(app, host, port, settings)
    return 0


def run_server(app: Any, host: str, port: int, settings: Any, **options: Any) -> None:
    """uvicorn with the production settings. On SIGTERM it stops accepting, lets in-flight
    requests finish (CACHEMETER_SHUTDOWN_TIMEOUT_SECONDS), runs the app's shutdown (queues
    flushed) and exits 0."""
    import signal

    import uvicorn

    # uvicorn re-raises the signal once it has shut down; exiting 0 then is the contract.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        access_log=False,
        **options,
    )


def cmd_serve(args: argparse.Namespace) -> int:
    from cachemeter.config import get_settings
    from cachemeter.server import create_app

    settings = get_settings()
    if not settings.metrics_token and not settings.metrics_public:
        # /metrics sums every tenant's traffic by app, team and model: the operator's, not
        # the internet's. A production server does not expose it by accident.
        print(
            "cachemeter serve: set CACHEMETER_METRICS_TOKEN (Prometheus then scrapes with"
            " Authorization: Bearer <token>), or CACHEMETER_METRICS_PUBLIC=true to expose"
            " /metrics without one",
            file=sys.stderr,
        )
        return 2
    # No migration here: a deployment runs `cachemeter migrate` once (the Helm hook Job).
    run_server(
        create_app(settings), args.host or settings.host, args.port or settings.port, settings
    )
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    from cachemeter.config import get_settings

    settings = get_settings()
    run_server(
        "cachemeter.wsgi:dashboard_asgi",
        args.host or settings.host,
        args.port or settings.port,
        settings,
        factory=True,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cachemeter", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start Postgres (embedded unless DATABASE_URL), migrate, serve")
    up.add_argument("--host")
    up.add_argument("--port", type=int)
    up.add_argument(
        "--demo", action="store_true", help="load a few days of synthetic traffic first"
    )
    up.set_defaults(func=cmd_up)

    serve = sub.add_parser(
        "serve", help="serve the API and dashboard on a migrated database (production)"
    )
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)

    dash = sub.add_parser("dashboard", help="serve only the dashboard (scaled apart from the API)")
    dash.add_argument("--host")
    dash.add_argument("--port", type=int)
    dash.set_defaults(func=cmd_dashboard)

    sub.add_parser("migrate", help="upgrade the database schema").set_defaults(func=cmd_migrate)

    ret = sub.add_parser(
        "retention",
        help="create partitions ahead; drop counts and empty raw payloads past retention",
    )
    ret.add_argument(
        "--months",
        type=_non_negative,
        metavar="N",
        help="keep N whole months before the current one (default CACHEMETER_RETENTION_MONTHS)",
    )
    ret.add_argument(
        "--raw-days",
        type=_non_negative,
        metavar="D",
        help="empty raw payloads older than D days (default CACHEMETER_RETENTION_RAW_DAYS)",
    )
    ret.add_argument("--dry-run", action="store_true", help="report, change nothing")
    ret.set_defaults(func=cmd_retention)

    ex = sub.add_parser("explain", help="normalise and price one payload (no database)")
    ex.add_argument("file", nargs="?", default="-", help="JSON payload file, or - for stdin")
    ex.add_argument("--provider")
    ex.add_argument("--model")
    ex.add_argument("--prices", help="JSON list of catalogue entries to price with")
    ex.add_argument("--at", help="request time, ISO 8601 (default: now)")
    ex.set_defaults(func=cmd_explain)

    ing = sub.add_parser(
        "ingest", help="import records from JSONL, JSON or CSV files (optionally gzip)"
    )
    ing.add_argument("files", nargs="+")
    ing.add_argument(
        "--restart", action="store_true", help="ignore checkpoints: start files from the top"
    )
    ing.add_argument("--rejects", help="write every rejected line (location and error) as JSONL")
    ing.add_argument("--tenant", default="default")
    ing.add_argument("--batch", type=int, default=MAX_BATCH, choices=range(1, 10_001), metavar="N")
    ing.add_argument("--quiet", action="store_true", help="no progress bar")
    ing.set_defaults(func=cmd_ingest)

    lit = sub.add_parser(
        "ingest-litellm", help="import LiteLLM spend logs (its Postgres table or exports)"
    )
    lit.add_argument("files", nargs="*", help="exported spend logs: JSON, JSONL or CSV")
    lit.add_argument("--dsn", help="LiteLLM's Postgres, e.g. postgresql://user@host/litellm")
    lit.add_argument("--since", help="only rows that started at or after this time")
    lit.add_argument("--tenant", default="default")
    lit.add_argument("--batch", type=int, default=MAX_BATCH, choices=range(1, 10_001), metavar="N")
    lit.set_defaults(func=cmd_ingest_litellm)

    prices.register(sub)
    finance.register(sub)
    exports.register(sub)

    keys = sub.add_parser("keys", help="manage API keys")
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    create = ksub.add_parser("create", help="create a key (printed on the last line)")
    create.add_argument("--tenant", required=True)
    create.add_argument("--name")
    create.add_argument(
        "--scope",
        action="append",
        help="ingest, read or admin; repeat or comma-separate (default: ingest,read)",
    )
    listing = ksub.add_parser("list", help="a tenant's keys: prefix, scopes, state, last use")
    listing.add_argument("--tenant", required=True)
    rotate = ksub.add_parser(
        "rotate", help="a new key like an existing one; the old one expires after a grace period"
    )
    rotate.add_argument("prefix")
    rotate.add_argument("--tenant", required=True)
    rotate.add_argument("--grace-hours", type=float, default=24.0)
    revoke = ksub.add_parser("revoke", help="revoke a key by its first 10 characters")
    revoke.add_argument("prefix")
    keys.set_defaults(func=cmd_keys)

    tenants = sub.add_parser("tenants", help="manage tenants")
    tsub = tenants.add_subparsers(dest="tenants_command", required=True)
    drop = tsub.add_parser("delete", help="delete a tenant and every row of theirs, for good")
    drop.add_argument("name")
    drop.add_argument("--confirm", required=True, metavar="NAME", help="the name again")
    tenants.set_defaults(func=cmd_tenants)

    demo = sub.add_parser("demo", help="load synthetic demo traffic into the database")
    demo.add_argument("--tenant", default="default")
    demo.add_argument("--days", type=int, default=4, choices=range(1, 31), metavar="DAYS")
    demo.set_defaults(func=cmd_demo)
    return parser


# The status of a command whose reader went away, as a shell shows one killed by SIGPIPE.
EXIT_BROKEN_PIPE = 128 + 13  # SIGPIPE is signal 13


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except CliError as exc:
        print(f"cachemeter: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        raise  # main() ends quietly
    except Exception as exc:
        # What a command's input caused (a file that is not text, a corrupt gzip, a number
        # past any range, a value a column refuses) is a mistake to name, not a traceback.
        reason = input_error(exc)
        if reason is None:
            raise
        print(f"cachemeter: error: {reason}", file=sys.stderr)
        return 2
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script. Output piped into a reader that stops early
    (`| head`) ends the command quietly with status 141, as Unix tools do."""
    try:
        try:
            return _run(argv)
        finally:
            # Flushed here, not at interpreter exit, so a closed pipe is caught below.
            sys.stdout.flush()
    except BrokenPipeError:
        # Python's "Note on SIGPIPE": point stdout at devnull so the flush at exit does not
        # fail again and print a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
