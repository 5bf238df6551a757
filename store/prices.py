"""The price catalogue in Postgres: catalogue entries and tenants' negotiated prices."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, text, true, update

from billing import CatalogueEntry, PriceBook, Rates, Tier
from billing.aliases import canonical_provider
from billing.catalogue import PriceSpec
from billing.charge import money_text
from billing.genai import load_data
from store.limits import PRICES, check_row
from store.models import GenaiPriceSync, PriceRow, Tenant
from store.tenants import ensure_tenant, find_tenant


class PriceConflict(ValueError):
    """A new price whose effective interval overlaps an existing one for the same key."""


def _overlaps(start: datetime | None, end: datetime | None) -> Any:
    # [a, b) and [c, d) overlap when a < d and c < b; NULL bounds are open-ended.
    conditions = []
    if end is not None:
        conditions.append(or_(PriceRow.effective_from.is_(None), PriceRow.effective_from < end))
    if start is not None:
        conditions.append(or_(PriceRow.effective_to.is_(None), PriceRow.effective_to > start))
    return and_(true(), *conditions)


def add_price(conn: Connection, spec: PriceSpec) -> int:
    """Store one price; refuses an interval that overlaps one for the same key."""
    entry = spec.to_entry()
    tenant_id = None
    if spec.tenant:
        # Looked up first: a tenant-scoped transaction may read its tenant but not insert one.
        known = find_tenant(conn, spec.tenant)
        tenant_id = (known or ensure_tenant(conn, spec.tenant)).id
    provider = canonical_provider(spec.provider)
    model = spec.model.strip().lower()
    clash = conn.execute(
        select(PriceRow.id, PriceRow.effective_from, PriceRow.effective_to).where(
            PriceRow.provider == provider,
            PriceRow.model == model,
            PriceRow.tenant_id.is_(None) if tenant_id is None else PriceRow.tenant_id == tenant_id,
            _overlaps(entry.effective_from, entry.effective_to),
        )
    ).first()
    if clash is not None:
        raise PriceConflict(
            f"{provider}/{model}: overlaps the price effective"
            f" {clash.effective_from or '-inf'} to {clash.effective_to or '+inf'}"
            " (set effective_from/effective_to so intervals do not overlap)"
        )
    rates = entry.rates
    values: dict[str, Any] = {
        "tenant_id": tenant_id,
        "provider": provider,
        "model": model,
        "currency": entry.currency,
        "input_mtok": rates.input if rates else None,
        "output_mtok": rates.output if rates else None,
        "cache_read_mtok": rates.cache_read if rates else None,
        "cache_write_mtok": rates.cache_write if rates else None,
        "cache_write_1h_mtok": rates.cache_write_1h if rates else None,
        "discount_pct": entry.discount_pct,
        "storage_mtok_hour": entry.storage_mtok_hour,
        "tiers": [{"above": t.above, **t.rates.as_dict()} for t in entry.tiers],
        "effective_from": entry.effective_from,
        "effective_to": entry.effective_to,
        "note": entry.note,
    }
    # Canonical provider names and lower-cased models are checked where they are final.
    check_row(PRICES, values)
    return int(conn.execute(insert(PriceRow).values(values).returning(PriceRow.id)).scalar_one())


RATE_COLUMNS = (
    "input_mtok",
    "output_mtok",
    "cache_read_mtok",
    "cache_write_mtok",
    "cache_write_1h_mtok",
)


def _rates(values: Mapping[str, Any]) -> Rates:
    return Rates(
        input=Decimal(values["input_mtok"]),
        output=Decimal(values["output_mtok"]),
        cache_read=Decimal(values["cache_read_mtok"]),
        cache_write=Decimal(values["cache_write_mtok"]),
        cache_write_1h=Decimal(values["cache_write_1h_mtok"]),
    )


def _with_tenant_names() -> Any:
    return select(PriceRow.__table__, Tenant.name.label("tenant_name")).outerjoin(
        Tenant, Tenant.id == PriceRow.tenant_id
    )


def load_catalogue(conn: Connection) -> list[CatalogueEntry]:
    """Every stored price as a billing catalogue entry (tenant names resolved)."""
    return [
        CatalogueEntry(
            provider=row.provider,
            model=row.model,
            currency=row.currency,
            rates=_rates(dict(row._mapping)) if row.discount_pct is None else None,
            tiers=tuple(Tier(above=int(t["above"]), rates=_rates(t)) for t in row.tiers),
            tenant=row.tenant_name,
            effective_from=row.effective_from,
            effective_to=row.effective_to,
            id=row.id,
            note=row.note,
            discount_pct=row.discount_pct,
            storage_mtok_hour=row.storage_mtok_hour,
        )
        for row in conn.execute(_with_tenant_names())
    ]


def list_prices(conn: Connection) -> list[dict[str, Any]]:
    """Stored prices for display, by provider and model, newest effective date first."""
    rows = conn.execute(
        _with_tenant_names().order_by(
            PriceRow.provider, PriceRow.model, PriceRow.effective_from.desc().nulls_last()
        )
    )
    return [
        {
            "id": r.id,
            "tenant": r.tenant_name,
            "provider": r.provider,
            "model": r.model,
            "currency": r.currency,
            **{
                key: money_text(getattr(r, key)) if getattr(r, key) is not None else None
                for key in (*RATE_COLUMNS, "discount_pct", "storage_mtok_hour")
            },
            "tiers": r.tiers,
            "effective_from": r.effective_from.isoformat() if r.effective_from else None,
            "effective_to": r.effective_to.isoformat() if r.effective_to else None,
            "note": r.note,
        }
        for r in rows
    ]


def latest_sync(conn: Connection) -> Any | None:
    """The most recent `prices sync` (a row with id, source, models, changes, data), or None."""
    return conn.execute(
        select(GenaiPriceSync.__table__).order_by(GenaiPriceSync.id.desc()).limit(1)
    ).first()


def record_sync(
    conn: Connection, source: str, models: dict[str, Any], changes: dict[str, Any], data: Any | None
) -> int:
    """Store one sync: the rates seen, what changed since the last one, and file data if any."""
    return int(
        conn.execute(
            insert(GenaiPriceSync)
            .values(source=source, models=models, changes=changes, data=data)
            .returning(GenaiPriceSync.id)
        ).scalar_one()
    )


def catalogue_state(conn: Connection) -> tuple[int, int, int]:
    """Changes whenever a price is added, removed or corrected in place (`prices update`), or a
    sync is made: (count, a fingerprint of every price row's version, last sync id)."""
    # One statement, since every batch asks (a single record's POST too). A correction writes
    # a new version of its row, with a new xmin (the transaction that wrote it), where a count
    # and a largest id stay the same; xmin, unlike the row's text, reads the same whatever the
    # session's time zone, so every pooled connection agrees.
    row = conn.execute(_CATALOGUE_STATE).one()
    return int(row[0]), int(row[1]), int(row[2])


_CATALOGUE_STATE = text(
    "SELECT count(*), coalesce(sum(hashtext(id || ':' || xmin)), 0),"
    " (SELECT coalesce(max(id), 0) FROM genai_price_syncs) FROM prices"
)


def load_price_book(conn: Connection) -> PriceBook:
    """The price book in force: stored catalogue and negotiated prices, over the genai-prices
    data of the latest sync (a loaded data file) or the installed package's."""
    sync = latest_sync(conn)
    data = load_data(sync.data) if sync is not None and sync.data is not None else None
    return PriceBook(load_catalogue(conn), genai_data=data)


def update_price(
    conn: Connection, price_id: int, changes: dict[str, Any], note: str
) -> dict[str, Any]:
    """Correct a stored price in place (rates, effective_to); returns the row before the change.

    Stored charges do not move until `cachemeter reprice` is run over the affected range.
    """
    row = conn.execute(select(PriceRow.__table__).where(PriceRow.id == price_id)).first()
    if row is None:
        raise PriceConflict(f"no price with id {price_id}")
    before = dict(row._mapping)
    if before["discount_pct"] is not None and any(k.endswith("_mtok") for k in changes):
        raise PriceConflict(f"price #{price_id} is a discount: change discount_pct, not rates")
    if "effective_to" in changes:
        start, end = before["effective_from"], changes["effective_to"]
        if start is not None and end is not None and end <= start:
            raise PriceConflict("effective_to must be after effective_from")
    stamp = f"{before['note'] + '; ' if before['note'] else ''}{note}"
    conn.execute(update(PriceRow).where(PriceRow.id == price_id).values(**changes, note=stamp))
    return before


def catalogue_changed_at(conn: Connection) -> datetime | None:
    """When the price data in force last changed: the latest stored price or sync."""
    priced = conn.execute(select(func.max(PriceRow.created_at))).scalar_one()
    synced = conn.execute(select(func.max(GenaiPriceSync.synced_at))).scalar_one()
    times = [t for t in (priced, synced) if t is not None]
    return max(times) if times else None
