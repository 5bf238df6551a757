"""Finance operations shared by the CLI and the API: re-pricing (audited)."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from billing import Price, PriceNotFound, Usage
from billing.charge import money_text
from billing.pricecache import PriceResolver
from billing.tool_fees import charge_request
from billing.usage import steps_from_json
from store.finance import (
    CHARGE_COLUMNS,
    charge_columns,
    events_page,
    record_reprice,
    update_charges,
)
from store.prices import load_price_book
from store.rollups import apply_delta
from store.tenants import find_tenant

PAGE = 2_000


@dataclass
class RepriceReport:
    """What a re-price changed (or, dry, would change)."""

    run_id: int
    dry_run: bool
    events_seen: int = 0
    events_changed: int = 0
    unpriced_before: int = 0
    unpriced_after: int = 0
    before: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    after: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    def totals(self) -> dict[str, dict[str, str]]:
        """Cost before and after per currency, as decimal strings."""
        return {
            currency: {
                "before": money_text(self.before.get(currency, Decimal(0))),
                "after": money_text(self.after.get(currency, Decimal(0))),
                "change": money_text(
                    self.after.get(currency, Decimal(0)) - self.before.get(currency, Decimal(0))
                ),
            }
            for currency in sorted(set(self.before) | set(self.after))
        }

    def as_dict(self) -> dict[str, Any]:
        """The report as printed by the CLI."""
        return {
            "run": self.run_id,
            "dry_run": self.dry_run,
            "events_seen": self.events_seen,
            "events_changed": self.events_changed,
            "unpriced_before": self.unpriced_before,
            "unpriced_after": self.unpriced_after,
            "totals": self.totals(),
        }


def _changed(old: Any, new: dict[str, Any]) -> bool:
    for column in CHARGE_COLUMNS:
        before, after = getattr(old, column), new[column]
        if isinstance(before, Decimal) and isinstance(after, Decimal):
            if before != after:
                return True
        elif before != after:
            return True
    return False


def _resolve(book: PriceResolver, row: Any, model: str | None) -> Price:
    return book.resolve(row.provider, model, row.occurred_at, row.tenant)


def reprice(
    engine: Engine,
    *,
    start: datetime,
    end: datetime,
    actor: str,
    reason: str,
    provider: str | None = None,
    model: str | None = None,
    tenant: str | None = None,
    dry_run: bool = False,
    progress: Callable[[int], object] | None = None,
) -> RepriceReport:
    """Re-compute stored charges in [start, end) with the catalogue now in force.

    One transaction: the new charges and the audit row commit together or not at all.
    """
    with engine.begin() as conn:
        book = load_price_book(conn)
        tenant_id = None
        if tenant is not None:
            found = find_tenant(conn, tenant)
            if found is None:
                raise LookupError(f"no tenant named {tenant!r}")
            tenant_id = found.id
        report = RepriceReport(run_id=0, dry_run=dry_run)
        after: tuple[datetime, int] | None = None
        while True:
            page = events_page(
                conn,
                start,
                end,
                tenant_id=tenant_id,
                provider=provider,
                model=model,
                after=after,
                limit=PAGE,
            )
            if not page:
                break
            updates = []
            moved: list[tuple[dict[str, Any], dict[str, Any]]] = []
            for row in page:
                usage = Usage(
                    input_tokens=row.input_tokens,
                    cache_read_tokens=row.cache_read_tokens,
                    cache_write_tokens=row.cache_write_tokens,
                    cache_write_1h_tokens=row.cache_write_1h_tokens,
                    output_tokens=row.output_tokens,
                    reasoning_tokens=row.reasoning_tokens,
                )
                try:
                    price, charge = charge_request(
                        usage,
                        row.reported_model or row.model,
                        functools.partial(_resolve, book, row),
                        row.provider,
                        service_tier=row.service_tier,
                        inference_geo=row.inference_geo,
                        speed=row.speed,
                        tool_requests=row.tool_requests or {},
                        steps=steps_from_json(row.steps),
                    )
                    new = charge_columns(charge, price, None)
                except PriceNotFound as exc:
                    new = charge_columns(None, None, exc.reason)
                report.events_seen += 1
                if row.cost is None:
                    report.unpriced_before += 1
                else:
                    report.before[row.currency] += row.cost
                if new["cost"] is None:
                    report.unpriced_after += 1
                else:
                    report.after[new["currency"]] += new["cost"]
                if _changed(row, new):
                    report.events_changed += 1
                    updates.append({**new, "event_id": row.id, "event_at": row.occurred_at})
                    old_row = dict(row._mapping)
                    moved.append((old_row, {**old_row, **new}))
            if not dry_run:
                update_charges(conn, updates)
                # Keep the rollups exact: take each changed event out at its old charge, in
                # at its new one.
                apply_delta(conn, [old for old, _ in moved], [new for _, new in moved])
            if progress is not None:
                progress(len(page))
            after = (page[-1].occurred_at, page[-1].id)
        report.run_id = record_reprice(
            conn,
            tenant_id=tenant_id,
            actor=actor,
            reason=reason,
            range_start=start,
            range_end=end,
            provider=provider,
            model=model,
            dry_run=dry_run,
            events_seen=report.events_seen,
            events_changed=report.events_changed,
            totals={
                **report.totals(),
                "unpriced": {"before": report.unpriced_before, "after": report.unpriced_after},
            },
        )
    return report
