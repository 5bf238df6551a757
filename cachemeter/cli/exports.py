"""`cachemeter export focus`: a month's LLM usage as a FOCUS 1.0 CSV file, for FinOps tools."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from cachemeter.cli.inputs import CliError
from cachemeter.cli.runtime import database


def cmd_export(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from reports.focus import focus_csv
    from reports.focus_export import focus_export
    from reports.statement import StatementError
    from store.tenants import find_tenant

    target = Path(args.output)
    if not target.parent.is_dir():
        raise CliError(f"--output: no folder {str(target.parent)!r}")
    # The finished file is moved into place: over a folder, a device or a link that would
    # replace it, not write through it.
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise CliError(f"--output: {str(target)!r} exists and is not a regular file")
    with database() as engine, engine.connect() as conn:
        tenant = find_tenant(conn, args.tenant)
        if tenant is None:
            raise CliError(f"no tenant named {args.tenant!r}")
        try:
            summary, lines = focus_export(
                conn, tenant.id, tenant.name, args.month, args.currency, args.period
            )
        except StatementError as exc:
            raise CliError(str(exc)) from None
        # Written beside the target and moved in place once complete: a failed export leaves
        # no partial file behind (nor an old one half overwritten).
        handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        bar = tqdm(unit=" rows", desc="focus", file=sys.stderr, disable=args.quiet)
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
                for chunk in focus_csv(lines):
                    out.write(chunk)
                    bar.update(1)
            os.replace(partial, target)
        except StatementError as exc:
            raise CliError(str(exc)) from None
        finally:
            bar.close()
            if os.path.exists(partial):
                os.unlink(partial)
    for note in summary.notes:
        print(f"note: {note}", file=sys.stderr)
    print(
        json.dumps(
            {
                "file": str(target),
                "month": summary.month,
                "currency": summary.currency,
                "rows": summary.rows,
                "requests": summary.requests,
                "unpriced_requests": summary.unpriced_requests,
                "caches": summary.caches,
                "billed_cost": str(summary.billed),
            }
        )
    )
    return 0


def register(sub: Any) -> None:
    """Add the export commands to the top-level parser."""
    export = sub.add_parser("export", help="exports for other tools")
    esub = export.add_subparsers(dest="export_command", required=True)
    focus = esub.add_parser(
        "focus", help="a month's usage as FOCUS 1.0 (FinOps Open Cost and Usage Specification)"
    )
    focus.add_argument("--month", required=True, help="YYYY-MM (UTC)")
    focus.add_argument("--currency", help="billing currency (needs FX rates for other currencies)")
    focus.add_argument("--period", default="day", choices=("day", "hour"), help="charge period")
    focus.add_argument("--tenant", default="default")
    focus.add_argument("--output", required=True, help="the CSV file to write")
    focus.add_argument("--quiet", action="store_true", help="no progress bar")
    export.set_defaults(func=cmd_export)
