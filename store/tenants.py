"""Tenants and their API keys (stored only as SHA-256 hashes)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Connection, delete, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert

from store.models import HOT_TABLES, ApiKey, Tenant

KEY_PREFIX = "cm_"
# ingest: push usage; read: reports, exports, dashboard; admin: keys, prices, re-pricing,
# budgets.
SCOPES = ("ingest", "read", "admin")
DEFAULT_SCOPES = ("ingest", "read")


@dataclass(frozen=True, slots=True)
class TenantRef:
    """A tenant as requests see it, with the scopes of the key that signed the request."""

    id: int
    name: str
    scopes: frozenset[str] = field(default=frozenset(SCOPES), compare=False)
    key_prefix: str = field(default="", compare=False)
    # The key's row, where a caller binds something to the key (a dashboard session).
    key_id: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A key as listings show it (never the key itself)."""

    prefix: str
    name: str | None
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


def check_scopes(scopes: Collection[str]) -> tuple[str, ...]:
    """The scopes in canonical order; ValueError naming any unknown one."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scope(s) {', '.join(unknown)}; use {', '.join(SCOPES)}")
    if not scopes:
        raise ValueError(f"a key needs at least one scope of {', '.join(SCOPES)}")
    return tuple(s for s in SCOPES if s in scopes)


def hash_key(key: str) -> str:
    """The stored form of an API key."""
    return hashlib.sha256(key.encode()).hexdigest()


def ensure_tenant(conn: Connection, name: str) -> TenantRef:
    """The tenant called `name`, created if missing."""
    conn.execute(insert(Tenant).values(name=name).on_conflict_do_nothing(index_elements=["name"]))
    tenant_id = conn.execute(select(Tenant.id).where(Tenant.name == name)).scalar_one()
    return TenantRef(tenant_id, name)


def find_tenant(conn: Connection, name: str) -> TenantRef | None:
    """The tenant called `name`, or None."""
    tenant_id = conn.execute(select(Tenant.id).where(Tenant.name == name)).scalar_one_or_none()
    return TenantRef(tenant_id, name) if tenant_id is not None else None


def revoke_all_keys(conn: Connection, tenant_id: int, now: datetime) -> int:
    """Revoke every live key of a tenant (the first step of deleting it); how many."""
    result = conn.execute(
        update(ApiKey)
        .where(ApiKey.tenant_id == tenant_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount)


def delete_tenant(conn: Connection, tenant_id: int) -> dict[str, int]:
    """Delete a tenant and all of their rows: those of the tables ingest writes, which have no
    foreign key (store.models.HOT_TABLES), then the tenant, whose other rows cascade. Per hot
    table, how many rows went. Run as the owner (row-level security binds the app role)."""
    counts = {}
    for table in HOT_TABLES:
        result = conn.execute(text(f"DELETE FROM {table} WHERE tenant_id = :t"), {"t": tenant_id})
        counts[table] = int(result.rowcount)
    conn.execute(delete(Tenant).where(Tenant.id == tenant_id))
    return counts


def create_key(
    conn: Connection,
    tenant: TenantRef,
    name: str | None = None,
    scopes: Collection[str] = DEFAULT_SCOPES,
) -> str:
    """A new API key for `tenant`; the plain key is returned once and never stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        insert(ApiKey).values(
            tenant_id=tenant.id,
            key_hash=hash_key(key),
            prefix=key[:10],
            name=name,
            scopes=list(check_scopes(scopes)),
        )
    )
    return key


def usable_at(now: datetime) -> list[ColumnElement[bool]]:
    """The conditions of a key that still signs requests at `now`."""
    return [ApiKey.revoked_at.is_(None), or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now)]


def tenant_for_key(conn: Connection, key: str, touch: bool = False) -> TenantRef | None:
    """The tenant of a key that is neither revoked nor expired, with the key's scopes; None
    otherwise. With `touch`, the key's last use is recorded (at most once a minute)."""
    now = datetime.now(UTC)
    row = conn.execute(
        select(Tenant.id, Tenant.name, ApiKey.id.label("key_id"), ApiKey.scopes, ApiKey.prefix)
        .join(ApiKey, ApiKey.tenant_id == Tenant.id)
        .where(ApiKey.key_hash == hash_key(key), *usable_at(now))
    ).first()
    if row is None:
        return None
    if touch:
        conn.execute(
            update(ApiKey)
            .where(
                ApiKey.id == row.key_id,
                or_(
                    ApiKey.last_used_at.is_(None),
                    ApiKey.last_used_at < now - timedelta(minutes=1),
                ),
            )
            .values(last_used_at=now)
        )
    return TenantRef(row.id, row.name, frozenset(row.scopes), row.prefix, row.key_id)


def list_keys(conn: Connection, tenant_id: int) -> list[KeyInfo]:
    """Every key of the tenant, newest first."""
    rows = conn.execute(
        select(ApiKey.__table__).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.id.desc())
    ).all()
    return [
        KeyInfo(
            k.prefix,
            k.name,
            tuple(k.scopes),
            k.created_at,
            k.expires_at,
            k.revoked_at,
            k.last_used_at,
        )
        for k in rows
    ]


def rotate_key(
    conn: Connection, tenant_id: int, prefix: str, grace: timedelta
) -> tuple[str, KeyInfo] | None:
    """A new key with the same name and scopes as the usable key `prefix`; the old one keeps
    working for `grace`, then expires. None if the tenant has no such usable key."""
    now = datetime.now(UTC)
    old = conn.execute(
        select(ApiKey.__table__)
        .where(ApiKey.tenant_id == tenant_id, ApiKey.prefix == prefix[:10], *usable_at(now))
        .with_for_update()
    ).one_or_none()
    if old is None:
        return None
    expires = now + grace
    if old.expires_at is not None and old.expires_at < expires:
        expires = old.expires_at  # rotating again never extends a key's life
    conn.execute(update(ApiKey).where(ApiKey.id == old.id).values(expires_at=expires))
    name = conn.execute(select(Tenant.name).where(Tenant.id == tenant_id)).scalar_one()
    key = create_key(conn, TenantRef(tenant_id, name), old.name, old.scopes)
    return key, KeyInfo(
        old.prefix, old.name, tuple(old.scopes), old.created_at, expires, None, old.last_used_at
    )


def count_keys(conn: Connection, tenant: TenantRef) -> int:
    """How many unrevoked keys the tenant has."""
    rows = conn.execute(
        select(ApiKey.id).where(ApiKey.tenant_id == tenant.id, ApiKey.revoked_at.is_(None))
    ).all()
    return len(rows)


def revoke_key(conn: Connection, prefix: str, tenant_id: int | None = None) -> int:
    """Revoke keys starting with `prefix` (only the tenant's, when given); how many."""
    where = [ApiKey.prefix == prefix[:10], ApiKey.revoked_at.is_(None)]
    if tenant_id is not None:
        where.append(ApiKey.tenant_id == tenant_id)
    result = conn.execute(update(ApiKey).where(*where).values(revoked_at=datetime.now(UTC)))
    return result.rowcount


def key_scopes(values: Sequence[str]) -> tuple[str, ...]:
    """Scopes from CLI or API values, which may be comma-separated."""
    return check_scopes([s.strip() for v in values for s in v.split(",") if s.strip()])
