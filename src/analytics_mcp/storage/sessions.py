"""Server-side dashboard sessions: a random token in the cookie, its SHA-256 in `dashboard_sessions`.

Sync functions taking a Connection first, like `storage.accounts`. A session is dead when its row
is gone (sign-out, user deleted) or expired; expired rows are swept on each sign-in.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select

from analytics_mcp.storage.account_types import Tenant, User
from analytics_mcp.storage.accounts import get_tenant_by_id, utcnow_iso
from analytics_mcp.storage.schema import dashboard_sessions, users

SESSION_TTL_S = 14 * 24 * 3600
MAX_TOKEN_LENGTH = 128  # ours are 43 characters; anything far longer is refused unread


@dataclass(frozen=True, slots=True)
class DashboardSession:
    """A live session: who signed in, their tenant, and the raw token (for the CSRF token)."""

    token: str
    user: User
    tenant: Tenant


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now_ms() -> int:
    return int(time.time() * 1000)


def create_session(conn: Connection, user: User, ttl_s: int = SESSION_TTL_S) -> str:
    """A new session for `user`; returns the cookie token. Always a fresh token (no fixation)."""
    now = _now_ms()
    conn.execute(delete(dashboard_sessions).where(dashboard_sessions.c.expires_ms <= now))
    token = secrets.token_urlsafe(32)
    conn.execute(
        insert(dashboard_sessions).values(
            token_hash=token_hash(token),
            user_id=user.id,
            created_at=utcnow_iso(),
            expires_ms=now + ttl_s * 1000,
        )
    )
    return token


def load_session(conn: Connection, token: str | None) -> DashboardSession | None:
    """The live session of this cookie token, else None."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    query = (
        select(users.c.id, users.c.tenant_id, users.c.email, users.c.role)
        .join(dashboard_sessions, dashboard_sessions.c.user_id == users.c.id)
        .where(dashboard_sessions.c.token_hash == token_hash(token))
        .where(dashboard_sessions.c.expires_ms > _now_ms())
    )
    row = conn.execute(query).mappings().first()
    if row is None:
        return None
    tenant = get_tenant_by_id(conn, row["tenant_id"])
    if tenant is None:
        return None
    return DashboardSession(token=token, user=User(**row), tenant=tenant)


def revoke_session(conn: Connection, token: str | None) -> None:
    """Forget the session; a replayed copy of its cookie then authenticates nothing."""
    if token and len(token) <= MAX_TOKEN_LENGTH:
        conn.execute(delete(dashboard_sessions).where(dashboard_sessions.c.token_hash == token_hash(token)))
