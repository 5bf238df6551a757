"""Tenants and their API keys (stored only as SHA-256 hashes)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert

from store.models import ApiKey, Tenant

KEY_PREFIX = "cm_"


@dataclass(frozen=True, slots=True)
class TenantRef:
    """A tenant as requests see it."""

    id: int
    name: str


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


def create_key(conn: Connection, tenant: TenantRef, name: str | None = None) -> str:
    """A new API key for `tenant`; the plain key is returned once and never stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        insert(ApiKey).values(
            tenant_id=tenant.id, key_hash=hash_key(key), prefix=key[:10], name=name
        )
    )
    return key


def tenant_for_key(conn: Connection, key: str) -> TenantRef | None:
    """The tenant an unrevoked key belongs to, or None."""
    row = conn.execute(
        select(Tenant.id, Tenant.name)
        .join(ApiKey, ApiKey.tenant_id == Tenant.id)
        .where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None))
    ).first()
    return TenantRef(row.id, row.name) if row else None


def count_keys(conn: Connection, tenant: TenantRef) -> int:
    """How many unrevoked keys the tenant has."""
    rows = conn.execute(
        select(ApiKey.id).where(ApiKey.tenant_id == tenant.id, ApiKey.revoked_at.is_(None))
    ).all()
    return len(rows)


def revoke_key(conn: Connection, prefix: str) -> int:
    """Revoke keys starting with `prefix`; returns how many were revoked."""
    result = conn.execute(
        update(ApiKey)
        .where(ApiKey.prefix == prefix[:10], ApiKey.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    return result.rowcount
