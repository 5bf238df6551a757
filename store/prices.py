"""The price catalogue in Postgres: catalogue entries and tenants' negotiated prices."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select

from billing import CatalogueEntry, Rates, Tier
from billing.aliases import canonical_provider
from billing.catalogue import PriceSpec
from store.models import PriceRow, Tenant
from store.tenants import ensure_tenant


class PriceConflict(ValueError):
    """A new price whose effective interval overlaps an existing one for the same key."""


def _overlaps(start: datetime | None, end: datetime | None) -> Any:
    # [a, b) and [c, d) overlap when a < d and c < b; NULL bounds are open-ended.
    return and_(
        or_(PriceRow.effective_from.is_(None), end is None or PriceRow.effective_from < end),
        or_(PriceRow.effective_to.is_(None), start is None or PriceRow.effective_to > start),
    )


def add_price(conn: Connection, spec: PriceSpec) -> int:
    """Store one price; refuses an interval that overlaps one for the same key."""
    entry = spec.to_entry()
    tenant_id = ensure_tenant(conn, spec.tenant).id if spec.tenant else None
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
            f"{provider}/{model}: overlaps price #{clash.id} effective"
            f" {clash.effective_from or '-inf'} to {clash.effective_to or '+inf'}"
            " (set effective_from/effective_to so intervals do not overlap)"
        )
    rates = entry.rates
    values = {
        "tenant_id": tenant_id,
        "provider": provider,
        "model": model,
        "currency": entry.currency,
        "input_mtok": rates.input,
        "output_mtok": rates.output,
        "cache_read_mtok": rates.cache_read,
        "cache_write_mtok": rates.cache_write,
        "cache_write_1h_mtok": rates.cache_write_1h,
        "tiers": [{"above": t.above, **t.rates.as_dict()} for t in entry.tiers],
        "effective_from": entry.effective_from,
        "effective_to": entry.effective_to,
        "note": entry.note,
    }
    return int(conn.execute(insert(PriceRow).values(values).returning(PriceRow.id)).scalar_one())


def _rates(values: dict[str, Any]) -> Rates:
    return Rates(
        input=Decimal(values["input_mtok"]),
        output=Decimal(values["output_mtok"]),
        cache_read=Decimal(values["cache_read_mtok"]),
        cache_write=Decimal(values["cache_write_mtok"]),
        cache_write_1h=Decimal(values["cache_write_1h_mtok"]),
    )


def load_catalogue(conn: Connection) -> list[CatalogueEntry]:
    """Every stored price as a billing catalogue entry (tenant names resolved)."""
    rows = conn.execute(
        select(PriceRow, Tenant.name.label("tenant_name")).outerjoin(
            Tenant, Tenant.id == PriceRow.tenant_id
        )
    ).all()
    entries = []
    for row in rows:
        price: PriceRow = row.PriceRow
        entries.append(
            CatalogueEntry(
                provider=price.provider,
                model=price.model,
                currency=price.currency,
                rates=_rates(
                    {
                        "input_mtok": price.input_mtok,
                        "output_mtok": price.output_mtok,
                        "cache_read_mtok": price.cache_read_mtok,
                        "cache_write_mtok": price.cache_write_mtok,
                        "cache_write_1h_mtok": price.cache_write_1h_mtok,
                    }
                ),
                tiers=tuple(Tier(above=int(t["above"]), rates=_rates(t)) for t in price.tiers),
                tenant=row.tenant_name,
                effective_from=price.effective_from,
                effective_to=price.effective_to,
                id=price.id,
                note=price.note,
            )
        )
    return entries


def catalogue_version(conn: Connection) -> tuple[int, int]:
    """Changes whenever a price is added or removed: (count, max id)."""
    row = conn.execute(
        select(func.count(PriceRow.id), func.coalesce(func.max(PriceRow.id), 0))
    ).one()
    return int(row[0]), int(row[1])


def list_prices(conn: Connection) -> list[dict[str, Any]]:
    """Stored prices for display, newest first."""
    rows = conn.execute(
        select(PriceRow, Tenant.name.label("tenant_name"))
        .outerjoin(Tenant, Tenant.id == PriceRow.tenant_id)
        .order_by(PriceRow.provider, PriceRow.model, PriceRow.effective_from.desc().nulls_last())
    ).all()
    return [
        {
            "id": r.PriceRow.id,
            "tenant": r.tenant_name,
            "provider": r.PriceRow.provider,
            "model": r.PriceRow.model,
            "currency": r.PriceRow.currency,
            "input_mtok": str(r.PriceRow.input_mtok.normalize()),
            "output_mtok": str(r.PriceRow.output_mtok.normalize()),
            "cache_read_mtok": str(r.PriceRow.cache_read_mtok.normalize()),
            "cache_write_mtok": str(r.PriceRow.cache_write_mtok.normalize()),
            "cache_write_1h_mtok": str(r.PriceRow.cache_write_1h_mtok.normalize()),
            "tiers": r.PriceRow.tiers,
            "effective_from": r.PriceRow.effective_from.isoformat()
            if r.PriceRow.effective_from
            else None,
            "effective_to": r.PriceRow.effective_to.isoformat()
            if r.PriceRow.effective_to
            else None,
            "note": r.PriceRow.note,
        }
        for r in rows
    ]
