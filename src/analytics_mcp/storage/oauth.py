"""The built-in OAuth authorization server's records (tables in `storage.oauth_schema`).

Sync functions taking a Connection first, like `storage.accounts`. Secrets are random 256-bit
values handed out once and stored as SHA-256 (`token_hash`). One approval is a grant: its code is
single-use and lives 60 s; its access tokens an hour; its refresh token 30 days and only until
used (rotation). A used code presented again, or a rotated refresh token replayed, revokes the
whole grant (RFC 6749 §10.5, OAuth 2.1 §4.3.1); so does revoking any one of its tokens.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, delete, insert, select, update
from ulid import ULID

from analytics_mcp.storage.account_tokens import token_hash
from analytics_mcp.storage.oauth_schema import oauth_authorizations, oauth_clients, oauth_tokens
from analytics_mcp.storage.schema import users
from analytics_mcp.timeutil import utcnow_iso

READ, ADMIN = "read", "admin"
SCOPES = (READ, ADMIN)
MANAGER_ROLES = frozenset({"owner", "admin"})  # as on the dashboard: they may also manage the tenant
REQUEST_TTL_S = 600
CODE_TTL_S = 60
ACCESS_TTL_S = 3600
REFRESH_TTL_S = 30 * 24 * 3600
ACCESS_PREFIX, REFRESH_PREFIX, CODE_PREFIX = "amcpo_at_", "amcpo_rt_", "amcpo_c_"
MAX_SECRET_LENGTH = 128  # ours are at most 52 characters; longer is refused unread
Kind = Literal["access", "refresh"]


def grantable(role: str) -> frozenset[str]:
    """The scopes a user with this role may grant: read for viewers, read and admin for managers."""
    return frozenset(SCOPES) if role in MANAGER_ROLES else frozenset({READ})


def _now_ms() -> int:
    return int(time.time() * 1000)


def _hash(value: str) -> str | None:
    return token_hash(value) if 0 < len(value) <= MAX_SECRET_LENGTH else None


# -- clients ---------------------------------------------------------------------------------------


def register_client(conn: Connection, client_id: str, secret: str | None, info: str) -> None:
    values = {"client_id": client_id, "info": info, "created_at": utcnow_iso()}
    conn.execute(insert(oauth_clients).values(secret_hash=token_hash(secret) if secret else None, **values))


def load_client(conn: Connection, client_id: str) -> tuple[str, str | None] | None:
    """(info JSON, secret hash or None) of a registered client."""
    query = select(oauth_clients.c.info, oauth_clients.c.secret_hash)
    row = conn.execute(query.where(oauth_clients.c.client_id == client_id[:64])).first()
    return (row.info, row.secret_hash) if row is not None else None


# -- authorization requests and codes --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Authorization:
    """An authorization request, pending (user_id None) or approved (its code issued)."""

    client_id: str
    redirect_uri: str
    redirect_uri_explicit: bool
    code_challenge: str
    scopes: tuple[str, ...]
    resource: str
    state: str | None
    user_id: int | None
    tenant_id: int | None
    grant_id: str | None
    expires_ms: int


def _authorization(row: Any) -> Authorization:
    return Authorization(
        client_id=row.client_id,
        redirect_uri=row.redirect_uri,
        redirect_uri_explicit=bool(row.redirect_uri_explicit),
        code_challenge=row.code_challenge,
        scopes=tuple(row.scopes.split()),
        resource=row.resource,
        state=row.state,
        user_id=row.user_id,
        tenant_id=row.tenant_id,
        grant_id=row.grant_id,
        expires_ms=row.expires_ms,
    )


def create_request(conn: Connection, request: Authorization) -> str:
    """Store a validated /authorize request; returns the consent page's key (shown once)."""
    now = _now_ms()
    conn.execute(delete(oauth_authorizations).where(oauth_authorizations.c.expires_ms <= now))
    conn.execute(delete(oauth_tokens).where(oauth_tokens.c.expires_ms <= now))
    key = secrets.token_urlsafe(32)
    values = {
        "request_hash": token_hash(key),
        "client_id": request.client_id,
        "redirect_uri": request.redirect_uri,
        "redirect_uri_explicit": int(request.redirect_uri_explicit),
        "code_challenge": request.code_challenge,
        "scopes": " ".join(request.scopes),
        "resource": request.resource,
        "state": request.state,
        "expires_ms": now + REQUEST_TTL_S * 1000,
        "created_at": utcnow_iso(),
    }
    conn.execute(insert(oauth_authorizations).values(**values))
    return key


def _pending(key: str) -> Any:
    return (
        (oauth_authorizations.c.request_hash == _hash(key))
        & oauth_authorizations.c.user_id.is_(None)
        & (oauth_authorizations.c.expires_ms > _now_ms())
    )


def load_request(conn: Connection, key: str) -> Authorization | None:
    """The pending (unanswered, unexpired) request of this consent key, else None."""
    row = conn.execute(select(oauth_authorizations).where(_pending(key))).first()
    return _authorization(row) if row is not None else None


def approve(conn: Connection, key: str, user_id: int, tenant_id: int, scopes: tuple[str, ...]) -> str | None:
    """Answer the pending request for this user and tenant; returns the code (once), or None if the
    request was already answered or expired."""
    code = CODE_PREFIX + secrets.token_urlsafe(32)
    values = {
        "user_id": user_id,
        "tenant_id": tenant_id,
        "scopes": " ".join(scopes),
        "code_hash": token_hash(code),
        "grant_id": str(ULID()),
        "expires_ms": _now_ms() + CODE_TTL_S * 1000,
    }
    done = conn.execute(update(oauth_authorizations).where(_pending(key)).values(**values))
    return code if done.rowcount == 1 else None


def deny(conn: Connection, key: str) -> None:
    conn.execute(delete(oauth_authorizations).where(_pending(key)))


def load_code(conn: Connection, code: str) -> Authorization | None:
    """The approved, unused authorization of this code. A used code revokes its grant's tokens."""
    hashed = _hash(code) if code.startswith(CODE_PREFIX) else None
    row = conn.execute(select(oauth_authorizations).where(oauth_authorizations.c.code_hash == hashed)).first()
    if row is None:
        return None
    if row.used_at is not None:
        revoke_grant(conn, row.grant_id)
        return None
    return _authorization(row)


def use_code(conn: Connection, code: str) -> bool:
    """Mark the code used; False if it was used meanwhile (only one exchange wins)."""
    table = oauth_authorizations
    unused = (table.c.code_hash == _hash(code)) & table.c.used_at.is_(None)
    return conn.execute(update(table).where(unused).values(used_at=utcnow_iso())).rowcount == 1


# -- tokens -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GrantToken:
    """A live access or refresh token and what it is bound to."""

    kind: Kind
    grant_id: str
    client_id: str
    user_id: int
    tenant_id: int
    scopes: tuple[str, ...]
    resource: str
    expires_ms: int


def issue_tokens(conn: Connection, grant: GrantToken) -> tuple[str, str]:
    """A new (access token, refresh token) pair for this grant, bound to its tenant and resource."""
    now, pair = _now_ms(), []
    for kind, prefix, ttl in (
        ("access", ACCESS_PREFIX, ACCESS_TTL_S),
        ("refresh", REFRESH_PREFIX, REFRESH_TTL_S),
    ):
        plaintext = prefix + secrets.token_urlsafe(32)
        values = {
            "token_hash": token_hash(plaintext),
            "kind": kind,
            "grant_id": grant.grant_id,
            "client_id": grant.client_id,
            "user_id": grant.user_id,
            "tenant_id": grant.tenant_id,
            "scopes": " ".join(grant.scopes),
            "resource": grant.resource,
            "expires_ms": now + ttl * 1000,
            "created_at": utcnow_iso(),
        }
        conn.execute(insert(oauth_tokens).values(**values))
        pair.append(plaintext)
    return pair[0], pair[1]


def load_token(conn: Connection, plaintext: str, kind: Kind) -> GrantToken | None:
    """The live token of this kind, its scopes cut to what its user's role may grant now; None if
    unknown, expired, revoked, or its user left the tenant. A revoked refresh token presented again
    (a replay after rotation) revokes its whole grant."""
    prefix = ACCESS_PREFIX if kind == "access" else REFRESH_PREFIX
    hashed = _hash(plaintext) if plaintext.startswith(prefix) else None
    query = (
        select(oauth_tokens, users.c.role, users.c.tenant_id.label("user_tenant"))
        .join(users, users.c.id == oauth_tokens.c.user_id)
        .where(oauth_tokens.c.token_hash == hashed, oauth_tokens.c.kind == kind)
    )
    row = conn.execute(query).first()
    if row is None or row.expires_ms <= _now_ms() or row.user_tenant != row.tenant_id:
        return None
    if row.revoked_at is not None:
        if kind == "refresh":
            revoke_grant(conn, row.grant_id)
        return None
    scopes = tuple(s for s in row.scopes.split() if s in grantable(row.role))
    fields = ("grant_id", "client_id", "user_id", "tenant_id", "resource", "expires_ms")
    return GrantToken(kind, scopes=scopes, **{name: getattr(row, name) for name in fields})


def rotate(conn: Connection, plaintext: str) -> bool:
    """Retire this refresh token and every other token of its grant before a new pair is issued;
    False if it was retired meanwhile (two concurrent refreshes: one wins)."""
    table = oauth_tokens
    live = (table.c.token_hash == _hash(plaintext)) & table.c.revoked_at.is_(None)
    row = conn.execute(select(table.c.grant_id).where(live)).first()
    if row is None or conn.execute(update(table).where(live).values(revoked_at=utcnow_iso())).rowcount != 1:
        return False
    revoke_grant(conn, row.grant_id)
    return True


def revoke_grant(conn: Connection, grant_id: str | None) -> None:
    """Revoke every token issued under this grant (idempotent)."""
    if grant_id:
        live = (oauth_tokens.c.grant_id == grant_id) & oauth_tokens.c.revoked_at.is_(None)
        conn.execute(update(oauth_tokens).where(live).values(revoked_at=utcnow_iso()))
