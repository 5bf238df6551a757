"""`cachemeter reprice`: re-compute stored charges with the catalogue now in force, audited."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from cachemeter.cli.inputs import CliError
from cachemeter.cli.runtime import database, parse_time
from reports.formatting import money


def _actor() -> str:
    try:
        return os.environ.get("CACHEMETER_ACTOR") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def cmd_reprice(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from billing.aliases import canonical_provider
    from reports.reprice import reprice
    from store.finance import list_reprices

    if args.history:
        with database() as engine, engine.connect() as conn:
            print(json.dumps(list_reprices(conn), indent=2, default=str))
        return 0
    if not (args.start and args.end and args.reason):
        raise CliError("reprice needs --start, --end and --reason (or --history)")
    start, end = parse_time(args.start, "--start"), parse_time(args.end, "--end")
    if start >= end:
        raise CliError("--start must be before --end")
    with database() as engine:
        bar = tqdm(unit="ev", desc="reprice", file=sys.stderr, disable=args.quiet)
        try:
            report = reprice(
                engine,
                start=start,
                end=end,
                actor=args.actor or _actor(),
                reason=args.reason,
                provider=canonical_provider(args.provider) if args.provider else None,
                model=args.model,
                tenant=args.tenant,
                dry_run=args.dry_run,
                progress=bar.update,
            )
        except LookupError as exc:
            raise CliError(str(exc)) from None
        finally:
            bar.close()
    print(json.dumps(report.as_dict(), indent=2))
    return 0


def _cell(value: Any, is_money: bool, currency: str | None) -> str:
    if value is None:
        return ""
    if is_money:
        return money(Decimal(value), currency)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _table(
    rows: list[dict[str, Any]],
    columns: list[str],
    money_columns: Collection[str] = (),
    currency: str | None = None,
) -> str:
    """Rows as an aligned text table (numbers right-aligned), money and counts formatted as on
    the dashboard's pages."""
    cells = [[_cell(row.get(c), c in money_columns, currency) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]

    def fmt(values: list[str], header: bool = False) -> str:
        parts = []
        for i, value in enumerate(values):
            left = header or i == 0
            parts.append(value.ljust(widths[i]) if left else value.rjust(widths[i]))
        return "  ".join(parts).rstrip()

    lines = [fmt(columns, header=True), "  ".join("-" * w for w in widths)]
    lines += [fmt(r) for r in cells]
    return "\n".join(lines)


def cmd_report(args: argparse.Namespace) -> int:
    from reports.economics import cache_economics
    from reports.statement import (
        MONEY_COLUMNS,
        SUMMARY_COLUMNS,
        StatementError,
        statement,
        statement_csv,
    )
    from store.tenants import find_tenant

    with database() as engine, engine.connect() as conn:
        tenant = find_tenant(conn, args.tenant)
        if tenant is None:
            raise CliError(f"no tenant named {args.tenant!r}")
        if args.report_command == "advice":
            return _advice(conn, tenant, args)
        if args.report_command == "economics":
            start, end = parse_time(args.start, "--start"), parse_time(args.end, "--end")
            if start >= end:
                raise CliError("--start must be before --end")
            print(json.dumps(cache_economics(conn, tenant, start, end), indent=2))
            return 0
        try:
            body = statement(conn, tenant.id, args.month, args.group_by, args.currency)
        except StatementError as exc:
            raise CliError(str(exc)) from None
    if args.format == "json":
        print(json.dumps(body, indent=2))
    elif args.format == "csv":
        sys.stdout.write(statement_csv(body))
    else:
        columns = list(SUMMARY_COLUMNS)
        print(f"statement {body['month']} by {body['group_by']}, in {body['currency']}")
        lines = [*body["lines"], body["total"]]
        print(_table(lines, columns, MONEY_COLUMNS, body["currency"]))
    return 0


def _advice(conn: Any, tenant: Any, args: argparse.Namespace) -> int:
    from cachemeter.config import advice_settings, get_settings
    from reports.advice import advice, advice_text

    end = parse_time(args.end, "--end") if args.end else datetime.now(UTC)
    start = parse_time(args.start, "--start") if args.start else end - timedelta(days=30)
    if start >= end:
        raise CliError("--start must be before --end")
    thresholds = advice_settings(get_settings(), args.min_saving, args.min_requests)
    body = advice(conn, tenant, start, end, args.app, thresholds)
    print(json.dumps(body, indent=2) if args.format == "json" else advice_text(body))
    return 0


def _count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def cmd_reconcile(args: argparse.Namespace) -> int:
    from reports.reconciliation import reconciliation
    from store.tenants import find_tenant

    start, end = parse_time(args.start, "--start"), parse_time(args.end, "--end")
    if start >= end:
        raise CliError("--start must be before --end")
    with database() as engine, engine.connect() as conn:
        tenant = find_tenant(conn, args.tenant)
        if tenant is None:
            raise CliError(f"no tenant named {args.tenant!r}")
        body = reconciliation(conn, tenant, start, end, args.tolerance_pct, args.tolerance_abs)
    print(
        json.dumps(body if args.all else {k: v for k, v in body.items() if k != "groups"}, indent=2)
    )
    return 0


def _decimal(value: str) -> Decimal:
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not result.is_finite() or result < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative number: {value!r}")
    return result


def cmd_budgets(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from reports.budgets import budget_status
    from reports.statement import StatementError
    from store.budgets import remove_budget, set_budget
    from store.tenants import ensure_tenant, find_tenant

    scope, name = (
        ("team", args.team) if getattr(args, "team", None) else ("app", getattr(args, "app", None))
    )
    with database() as engine, engine.begin() as conn:
        if args.budgets_command == "set":
            if not 0 < args.threshold_pct <= 100:
                raise CliError("--threshold-pct must be in (0, 100]")
            if args.amount <= 0:
                raise CliError("--amount must be positive")
            if len(args.currency) != 3 or not args.currency.isalpha():
                raise CliError(f"--currency must be a 3-letter code, got {args.currency!r}")
            tenant = ensure_tenant(conn, args.tenant)
            set_budget(
                conn,
                tenant.id,
                scope,
                str(name),
                args.amount,
                args.currency.upper(),
                args.threshold_pct,
            )
            print(f"budget for {scope} {name!r} stored", file=sys.stderr)
            return 0
        found = find_tenant(conn, args.tenant)
        if found is None:
            raise CliError(f"no tenant named {args.tenant!r}")
        if args.budgets_command == "remove":
            if not remove_budget(conn, found.id, scope, str(name)):
                raise CliError(f"no {scope} budget named {name!r}")
            return 0
        try:
            print(
                json.dumps(budget_status(conn, found.id, datetime.now(UTC), args.month), indent=2)
            )
        except StatementError as exc:
            raise CliError(str(exc)) from None
    return 0


def cmd_regressions(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta

    from cache.regressions import DetectorConfig
    from cachemeter.workers.regressions import check_regressions
    from reports.regressions import regression_view, regressions
    from store.regressions import acknowledge_regression
    from store.tenants import find_tenant

    with database() as engine:
        if args.regressions_command == "check":
            at = parse_time(args.at, "--at") if args.at else datetime.now(UTC)
            events = check_regressions(
                engine, at, DetectorConfig(window_minutes=args.window_minutes)
            )
            print(
                json.dumps(
                    [{"action": action, **regression} for action, regression in events],
                    indent=2,
                    default=str,
                )
            )
            return 0
        if args.regressions_command == "acknowledge":
            with engine.begin() as conn:
                tenant = find_tenant(conn, args.tenant)
                if tenant is None:
                    raise CliError(f"no tenant named {args.tenant!r}")
                closed = acknowledge_regression(conn, tenant.id, args.id, datetime.now(UTC), "cli")
            if closed is None:
                raise CliError(f"{args.tenant} has no open regression {args.id}")
            print(json.dumps(regression_view(closed), indent=2, default=str))
            return 0
        with engine.connect() as conn:
            tenant = find_tenant(conn, args.tenant)
            if tenant is None:
                raise CliError(f"no tenant named {args.tenant!r}")
            now = datetime.now(UTC)
            rows = regressions(conn, tenant.id, now - timedelta(days=args.days), now, args.status)
    print(json.dumps(rows, indent=2, default=str))
    return 0


def cmd_collect(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from cachemeter.cli.collect import collect
    from ingest.collectors.usage_apis import APIS
    from ingest.errors import PayloadError
    from store.provider_usage import compare
    from store.tenants import ensure_tenant

    with database() as engine:
        with engine.begin() as conn:
            tenant = ensure_tenant(conn, args.tenant)
        if args.source == "compare":
            if not (args.start and args.end):
                raise CliError("collect compare needs --start and --end")
            with engine.connect() as conn:
                rows = compare(
                    conn,
                    tenant.id,
                    parse_time(args.start, "--start"),
                    parse_time(args.end, "--end"),
                )
            print(json.dumps([dict(r._mapping) for r in rows], indent=2, default=str))
            return 0
        env = {"openai": "OPENAI_ADMIN_KEY", "anthropic": "ANTHROPIC_ADMIN_KEY"}[args.source]
        key = args.admin_key or os.environ.get(env)
        if not key:
            raise CliError(f"an admin API key is needed: --admin-key or {env}")
        base = (
            args.base_url
            or {"openai": "https://api.openai.com", "anthropic": "https://api.anthropic.com"}[
                args.source
            ]
        )
        try:
            result = collect(
                engine,
                tenant.id,
                APIS[args.source],
                base_url=base,
                key=key,
                now=datetime.now(UTC),
                width=args.bucket,
                since=parse_time(args.since, "--since") if args.since else None,
            )
        except PayloadError as exc:
            raise CliError(str(exc)) from None
    print(json.dumps(result))
    return 0


def register(sub: Any) -> None:
    """Add the finance commands to the top-level parser."""
    rep = sub.add_parser(
        "reprice", help="re-compute stored charges with today's catalogue (audited)"
    )
    rep.add_argument("--start", help="ISO date or time (inclusive)")
    rep.add_argument("--end", help="ISO date or time (exclusive)")
    rep.add_argument("--provider")
    rep.add_argument("--model")
    rep.add_argument("--tenant")
    rep.add_argument("--dry-run", action="store_true", help="show the diff, change nothing")
    rep.add_argument("--reason", help="why (kept in the audit table)")
    rep.add_argument("--actor", help="who (default: $CACHEMETER_ACTOR or the OS user)")
    rep.add_argument("--history", action="store_true", help="list recent re-price runs")
    rep.add_argument("--quiet", action="store_true", help="no progress bar")
    rep.set_defaults(func=cmd_reprice)

    rec = sub.add_parser("reconcile", help="computed cost vs the charge the source reported")
    rec.add_argument("--start", required=True)
    rec.add_argument("--end", required=True)
    rec.add_argument("--tenant", default="default")
    rec.add_argument("--tolerance-pct", type=_decimal, default=Decimal("1"))
    rec.add_argument("--tolerance-abs", type=_decimal, default=Decimal("0.000001"))
    rec.add_argument("--all", action="store_true", help="list agreeing groups too")
    rec.set_defaults(func=cmd_reconcile)

    bud = sub.add_parser("budgets", help="monthly budgets per team or app")
    bsub = bud.add_subparsers(dest="budgets_command", required=True)
    for verb, text in (("set", "create or replace a budget"), ("remove", "remove a budget")):
        command = bsub.add_parser(verb, help=text)
        target = command.add_mutually_exclusive_group(required=True)
        target.add_argument("--team")
        target.add_argument("--app")
        command.add_argument("--tenant", default="default")
        if verb == "set":
            command.add_argument("--amount", type=_decimal, required=True)
            command.add_argument("--currency", default="USD")
            command.add_argument("--threshold-pct", type=_decimal, default=Decimal(80))
    status = bsub.add_parser("status", help="month-to-date spend, projection and status")
    status.add_argument("--month", help="YYYY-MM (default: this month)")
    status.add_argument("--tenant", default="default")
    bud.set_defaults(func=cmd_budgets)

    reg = sub.add_parser("regressions", help="detect and list hit-rate / TTFT regressions")
    gsub = reg.add_subparsers(dest="regressions_command", required=True)
    check = gsub.add_parser(
        "check", help="run one detection pass now (or --at a time), e.g. from cron"
    )
    check.add_argument("--at", help="the time the recent window ends (default: now)")
    check.add_argument(
        "--window-minutes",
        type=int,
        default=120,
        choices=range(5, 24 * 60 + 1),
        metavar="M",
        help="the longest recent window (shorter ones are used when they hold enough requests)",
    )
    ack = gsub.add_parser(
        "acknowledge",
        help="close an open regression by hand: its rate becomes the key's new baseline",
    )
    ack.add_argument("id", type=int, help="the regression's id (from `regressions list`)")
    ack.add_argument("--tenant", default="default")
    listing = gsub.add_parser("list", help="regressions of a tenant")
    listing.add_argument("--tenant", default="default")
    listing.add_argument("--status", default="all", choices=("open", "closed", "all"))
    listing.add_argument("--days", type=int, default=30)
    reg.set_defaults(func=cmd_regressions)

    col = sub.add_parser(
        "collect", help="pull provider usage APIs (run on a schedule), or compare with pushed data"
    )
    col.add_argument("source", choices=("openai", "anthropic", "compare"))
    col.add_argument(
        "--admin-key", help="provider admin key (or OPENAI_ADMIN_KEY / ANTHROPIC_ADMIN_KEY)"
    )
    col.add_argument("--base-url", help="the provider API base URL (default: the provider's)")
    col.add_argument("--bucket", default="1h", choices=("1m", "1h", "1d"))
    col.add_argument("--since", help="first run only: collect from this time (default: 7 days ago)")
    col.add_argument("--start", help="compare: from")
    col.add_argument("--end", help="compare: until")
    col.add_argument("--tenant", default="default")
    col.set_defaults(func=cmd_collect)

    report = sub.add_parser("report", help="finance reports")
    rsub = report.add_subparsers(dest="report_command", required=True)
    st = rsub.add_parser("statement", help="a month's statement by group")
    st.add_argument("--month", required=True, help="YYYY-MM (UTC)")
    st.add_argument(
        "--group-by", default="team", choices=("team", "app", "model", "provider", "environment")
    )
    st.add_argument("--currency", help="reporting currency (needs FX rates for other currencies)")
    st.add_argument("--format", default="table", choices=("table", "csv", "json"))
    st.add_argument("--tenant", default="default")
    eco = rsub.add_parser("economics", help="per-prefix cache economics and the 1-hour what-if")
    eco.add_argument("--start", required=True)
    eco.add_argument("--end", required=True)
    eco.add_argument("--tenant", default="default")
    adv = rsub.add_parser(
        "advice", help="what to change, per app and prefix, and what it would save a month"
    )
    adv.add_argument("--start", help="ISO time (default: 30 days before --end)")
    adv.add_argument("--end", help="ISO time (default: now)")
    adv.add_argument("--app", help="only this app")
    adv.add_argument(
        "--min-saving", type=_decimal, help="show findings saving at least this a month"
    )
    adv.add_argument("--min-requests", type=_count, help="evidence a finding needs")
    adv.add_argument("--format", default="table", choices=("table", "json"))
    adv.add_argument("--tenant", default="default")
    report.set_defaults(func=cmd_report)
