"""`cachemeter prices …` and `cachemeter fx …`: the catalogue and the FX table."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import TypeAdapter, ValidationError

from billing.catalogue import DiscountPct, Rate
from cachemeter.cli.inputs import CliError, read_json, read_price_specs
from cachemeter.cli.runtime import database, parse_time


def _spec_from_flags(args: argparse.Namespace) -> Any:
    from pydantic import ValidationError

    from billing.catalogue import PriceSpec
    from ingest.envelope import describe_validation_error

    fields = {
        "provider": args.provider,
        "model": args.model,
        "currency": args.currency,
        "input_mtok": args.input,
        "output_mtok": args.output,
        "cache_read_mtok": args.cache_read,
        "cache_write_mtok": args.cache_write,
        "cache_write_1h_mtok": args.cache_write_1h,
        "discount_pct": args.discount_pct,
        "storage_mtok_hour": args.storage,
        "effective_from": args.effective_from,
        "effective_to": args.effective_to,
        "tenant": args.tenant,
        "note": args.note,
    }
    try:
        spec = PriceSpec.model_validate({k: v for k, v in fields.items() if v is not None})
        spec.to_entry()
    except ValidationError as exc:
        raise CliError(describe_validation_error(exc.errors())) from None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return spec


def cmd_prices(args: argparse.Namespace) -> int:
    from store.limits import ColumnLimit
    from store.prices import PriceConflict, add_price, list_prices

    if args.prices_command == "sync":
        return _sync(args)
    if args.prices_command == "update":
        return _update(args)
    with database() as engine:
        if args.prices_command == "list":
            with engine.connect() as conn:
                print(json.dumps(list_prices(conn), indent=2))
            return 0
        if args.prices_command == "show":
            return _show(engine, args)
        specs = (
            read_price_specs(args.file)
            if args.prices_command == "load"
            else [_spec_from_flags(args)]
        )
        ids = []
        # All or nothing: one transaction for the whole file.
        with engine.begin() as conn:
            for spec in specs:
                try:
                    ids.append(add_price(conn, spec))
                except (PriceConflict, ColumnLimit) as exc:
                    raise CliError(str(exc)) from None
    print(f"added {len(ids)} price(s): ids {', '.join(map(str, ids))}", file=sys.stderr)
    return 0


def _update(args: argparse.Namespace) -> int:
    from store.prices import PriceConflict, update_price

    changes: dict[str, Any] = {}
    for flag, column in (
        ("input", "input_mtok"),
        ("output", "output_mtok"),
        ("cache_read", "cache_read_mtok"),
        ("cache_write", "cache_write_mtok"),
        ("cache_write_1h", "cache_write_1h_mtok"),
        ("discount_pct", "discount_pct"),
        ("storage", "storage_mtok_hour"),
    ):
        value = getattr(args, flag)
        if value is not None:
            # The rules `prices add` applies (billing.catalogue): finite, within range, at most
            # 9 decimal places for a rate.
            adapter = _DISCOUNT if column == "discount_pct" else _RATE
            try:
                changes[column] = adapter.validate_python(value)
            except ValidationError as exc:
                raise CliError(f"--{flag.replace('_', '-')}: {exc.errors()[0]['msg']}") from None
    if args.effective_to:
        changes["effective_to"] = parse_time(args.effective_to, "--effective-to")
    if not changes:
        raise CliError(
            "nothing to update: give a rate, --discount-pct, --storage or --effective-to"
        )
    if not args.reason.strip():
        raise CliError("--reason: say why the price is corrected (it is kept in its note)")
    note = f"corrected {datetime.now(UTC).isoformat(timespec='seconds')}: {args.reason}"
    with database() as engine, engine.begin() as conn:
        try:
            before = update_price(conn, args.id, changes, note)
        except PriceConflict as exc:
            raise CliError(str(exc)) from None
    print(
        json.dumps(
            {
                "id": args.id,
                "changed": {
                    k: {"before": str(before[k]), "after": str(v)} for k, v in changes.items()
                },
            },
            indent=2,
        )
    )
    print(
        "stored charges are unchanged until `cachemeter reprice` runs over the range",
        file=sys.stderr,
    )
    return 0


def _show(engine: Any, args: argparse.Namespace) -> int:
    from billing import PriceNotFound
    from billing.charge import money_text
    from store.prices import load_price_book

    at = parse_time(args.at, "--at") if args.at else datetime.now(UTC)
    with engine.connect() as conn:
        book = load_price_book(conn)
    out: dict[str, Any] = {
        "provider": args.provider,
        "model": args.model,
        "at": at.isoformat(),
        "tenant": args.tenant,
        "why": book.trace(args.provider, args.model, at, args.tenant),
    }
    try:
        price = book.resolve(args.provider, args.model, at, args.tenant)
    except PriceNotFound as exc:
        out["price"] = None
        out["unpriced_reason"] = exc.reason
    else:
        out["price"] = {
            "layer": price.source,
            "id": price.source_id,
            "ref": price.ref,
            "provider": price.provider,
            "model": price.model,
            "currency": price.currency,
            **{k: money_text(Decimal(v)) for k, v in price.rates.as_dict().items()},
            "tiers": [
                {
                    "above": t.above,
                    **{k: money_text(Decimal(v)) for k, v in t.rates.as_dict().items()},
                }
                for t in price.tiers
            ],
            "storage_mtok_hour": money_text(price.storage_mtok_hour)
            if price.storage_mtok_hour is not None
            else None,
            "effective_from": price.effective_from.isoformat() if price.effective_from else None,
            "effective_to": price.effective_to.isoformat() if price.effective_to else None,
        }
    print(json.dumps(out, indent=2))
    return 0


def _sync(args: argparse.Namespace) -> int:
    from billing.genai import GENAI_PRICES_VERSION, load_data, rates_by_model
    from store.prices import latest_sync, record_sync

    now = datetime.now(UTC)
    data: Any = None
    if args.file:
        data = read_json(args.file)
        try:
            snapshot = load_data(data)
        except ValueError as exc:
            raise CliError(
                f"{args.file}: not genai-prices data: {str(exc).splitlines()[0]}"
            ) from None
        source = f"file {args.file}"
    else:
        snapshot, source = None, f"genai-prices {GENAI_PRICES_VERSION} (installed package)"
    models = rates_by_model(snapshot, now)
    with database() as engine, engine.begin() as conn:
        previous = latest_sync(conn)
        before: dict[str, Any] = previous.models if previous is not None else {}
        changes: dict[str, list[Any]] = {
            "added": sorted(set(models) - set(before)),
            "removed": sorted(set(before) - set(models)),
            "changed": [
                {"model": key, "before": before[key], "after": models[key]}
                for key in sorted(set(models) & set(before))
                if before[key] != models[key]
            ],
        }
        sync_id = record_sync(conn, source, models, changes, data)
    summary: dict[str, Any] = {
        "sync": sync_id,
        "source": source,
        "models": len(models),
        "first_sync": previous is None,
        "added": len(changes["added"]),
        "removed": changes["removed"],
        "changed": changes["changed"],
    }
    if previous is not None:
        summary["added_models"] = changes["added"]
    print(json.dumps(summary, indent=2))
    return 0


def _fx_rows(path: str) -> list[dict[str, Any]]:
    if path.endswith(".csv"):
        try:
            with open(path, encoding="utf-8", newline="") as handle:
                return list(csv.DictReader(handle))
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    data = read_json(path)
    if not isinstance(data, list):
        raise CliError(f"{path}: expected a JSON list of {{from, to, rate, effective_from}}")
    return data


def _fx_rate(item: dict[str, Any], where: str) -> Any:
    from billing.fx import FxRate

    try:
        source, target = str(item["from"]).strip().upper(), str(item["to"]).strip().upper()
        rate = Decimal(str(item["rate"]))
        effective = parse_time(str(item["effective_from"]), "effective_from")
    except KeyError as exc:
        raise CliError(f"{where}: missing field {exc.args[0]!r}") from None
    except InvalidOperation:
        raise CliError(f"{where}: rate must be a number, got {item.get('rate')!r}") from None
    for code in (source, target):
        if len(code) != 3 or not code.isalpha():
            raise CliError(f"{where}: currency must be a 3-letter code, got {code!r}")
    if not rate.is_finite() or rate <= 0:
        raise CliError(f"{where}: rate must be positive, got {item['rate']!r}")
    if source == target:
        raise CliError(f"{where}: from and to are the same currency")
    return FxRate(source, target, rate, effective)


def cmd_fx(args: argparse.Namespace) -> int:
    from store.fx import add_rate, list_rates

    with database() as engine:
        if args.fx_command == "list":
            with engine.connect() as conn:
                print(json.dumps(list_rates(conn), indent=2))
            return 0
        if args.fx_command == "add":
            rates = [
                _fx_rate(
                    {
                        "from": args.source,
                        "to": args.target,
                        "rate": args.rate,
                        "effective_from": args.effective_from,
                    },
                    "fx add",
                )
            ]
        else:
            rates = [
                _fx_rate(item, f"{args.file}[{i}]") for i, item in enumerate(_fx_rows(args.file))
            ]
        with engine.begin() as conn:
            for rate in rates:
                add_rate(conn, rate)
    print(f"stored {len(rates)} rate(s)", file=sys.stderr)
    return 0


_RATE: TypeAdapter[Decimal] = TypeAdapter(Rate)
_DISCOUNT: TypeAdapter[Decimal] = TypeAdapter(DiscountPct)


def _decimal(value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None


def register(sub: Any) -> None:
    """Add the `prices` and `fx` commands to the top-level parser."""
    prices = sub.add_parser("prices", help="manage the price catalogue")
    psub = prices.add_subparsers(dest="prices_command", required=True)
    add = psub.add_parser("add", help="add a price (per million tokens) or a negotiated discount")
    add.add_argument("--provider", required=True)
    add.add_argument(
        "--model", required=True, help='a model id, or "*" for every model of the provider'
    )
    add.add_argument("--currency", default="USD")
    add.add_argument("--input", type=_decimal)
    add.add_argument("--output", type=_decimal)
    add.add_argument("--cache-read", type=_decimal)
    add.add_argument("--cache-write", type=_decimal)
    add.add_argument("--cache-write-1h", type=_decimal)
    add.add_argument(
        "--discount-pct", type=_decimal, help="percent off the list price instead of rates"
    )
    add.add_argument("--storage", type=_decimal, help="explicit-cache storage per MTok-hour")
    add.add_argument("--effective-from")
    add.add_argument("--effective-to")
    add.add_argument("--tenant", help="a tenant's negotiated price instead of a catalogue entry")
    add.add_argument("--note")
    psub.add_parser("list", help="list stored prices")
    load = psub.add_parser("load", help="add prices from a JSON list (all or nothing)")
    load.add_argument("file")
    show = psub.add_parser("show", help="which price applies to a model, and why")
    show.add_argument("provider")
    show.add_argument("model")
    show.add_argument("--at", help="time, ISO 8601 (default: now)")
    show.add_argument("--tenant")
    upd = psub.add_parser("update", help="correct a stored price (then run reprice)")
    upd.add_argument("id", type=int)
    for flag in (
        "--input",
        "--output",
        "--cache-read",
        "--cache-write",
        "--cache-write-1h",
        "--discount-pct",
        "--storage",
    ):
        upd.add_argument(flag, type=_decimal)
    upd.add_argument("--effective-to", help="end the price's interval (to start a new one)")
    upd.add_argument("--reason", required=True, help="why (kept in the price's note)")
    sync = psub.add_parser("sync", help="record genai-prices data and report what changed")
    sync.add_argument(
        "--file", help="genai-prices data.json to use instead of the installed package's"
    )
    prices.set_defaults(func=cmd_prices)

    fx = sub.add_parser("fx", help="manage FX rates for reporting currencies")
    fsub = fx.add_subparsers(dest="fx_command", required=True)
    fadd = fsub.add_parser("add", help="1 FROM = RATE TO, from --effective-from on")
    fadd.add_argument("source", metavar="FROM")
    fadd.add_argument("target", metavar="TO")
    fadd.add_argument("rate")
    fadd.add_argument("--effective-from", default="2000-01-01")
    fload = fsub.add_parser("load", help="rates from JSON or CSV (from,to,rate,effective_from)")
    fload.add_argument("file")
    fsub.add_parser("list", help="list stored rates")
    fx.set_defaults(func=cmd_fx)
