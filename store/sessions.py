"""Dashboard sessions (the dashboard_sessions table): opened at sign-in for one API key,
checked on every dashboard request, closed at sign-out."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, or_, select, update

from store.models import ApiKey, DashboardSession, Tenant
from store.tenants import hash_key, usable_at

# last_seen_at is written at most this often, so a page's burst of callbacks costs one read
# each and not one write each; idle expiry is therefore exact to within this.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class SessionLimits:
    """How long a session lasts: since its last request (idle) and since sign-in (lifetime)."""

    idle: timedelta
    lifetime: timedelta


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The tenant a live session belongs to, and the key that opened it."""

    tenant_id: int
    tenant: str
    key_id: int


def open_session(
    conn: Connection, tenant_id: int, key_id: int, now: datetime, limits: SessionLimits
) -> str:
    """A new session for the key; the token is returned once (only its hash is kept). The
    tenant's ended sessions are removed first, so the table holds live ones and a few more."""
    conn.execute(
        delete(DashboardSession).where(
            DashboardSession.tenant_id == tenant_id,
            or_(
                DashboardSession.revoked_at.is_not(None),
                DashboardSession.created_at <= now - limits.lifetime,
                DashboardSession.last_seen_at <= now - limits.idle,
            ),
        )
    )
    token = secrets.token_urlsafe(32)
    conn.execute(
        insert(DashboardSession).values(
            tenant_id=tenant_id,
            token_hash=hash_key(token),
            key_id=key_id,
            created_at=now,
            last_seen_at=now,
        )
    )
    return token


def check_session(
    conn: Connection, tenant_id: int, token: str, now: datetime, limits: SessionLimits
) -> SignedIn | None:
    """The session's tenant when the session is open and within its limits and its key still
    signs requests (not revoked, not expired, still allowed to read); None otherwise."""
    row = conn.execute(
        select(Tenant.name, DashboardSession.key_id, DashboardSession.last_seen_at)
        .join(ApiKey, ApiKey.id == DashboardSession.key_id)
        .join(Tenant, Tenant.id == DashboardSession.tenant_id)
        .where(
            DashboardSession.tenant_id == tenant_id,
            DashboardSession.token_hash == hash_key(token),
            DashboardSession.revoked_at.is_(None),
            DashboardSession.created_at > now - limits.lifetime,
            DashboardSession.last_seen_at > now - limits.idle,
            # A key moved to another tenant cannot happen, but the session must never
            # outlive the pairing it was opened with.
            ApiKey.tenant_id == DashboardSession.tenant_id,
            ApiKey.scopes.contains(["read"]),
            *usable_at(now),
        )
    ).first()
    if row is None:
        return None
    if row.last_seen_at <= now - TOUCH_EVERY:
        conn.execute(
            update(DashboardSession)
            .where(
                DashboardSession.tenant_id == tenant_id,
                DashboardSession.token_hash == hash_key(token),
            )
            .values(last_seen_at=now)
        )
    return SignedIn(tenant_id, row.name, row.key_id)


def close_session(conn: Connection, tenant_id: int, token: str, now: datetime) -> bool:
    """Sign the session out for good (a replayed cookie finds it closed); whether it was open."""
    result = conn.execute(
        update(DashboardSession)
        .where(
            DashboardSession.tenant_id == tenant_id,
            DashboardSession.token_hash == hash_key(token),
            DashboardSession.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return bool(result.rowcount)
