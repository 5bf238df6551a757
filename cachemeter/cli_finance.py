"""`cachemeter reprice`: re-compute stored charges with the catalogue now in force, audited."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from typing import Any

from cachemeter.inputs import CliError
from cachemeter.runtime import database, parse_time


def _actor() -> str:
    try:
        return os.environ.get("CACHEMETER_ACTOR") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def cmd_reprice(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from billing.aliases import canonical_provider
    from cachemeter.finance import reprice
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
