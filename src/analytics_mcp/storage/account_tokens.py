"""API tokens: shown once, stored as a sha256 hash, tenant-bound, scoped, revocable.
Re-exported by `storage.accounts`."""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, select, update
from ulid import ULID

from analytics_mcp.storage.account_core import insert_unique, require_tenant
from analytics_mcp.storage.account_rules import check_name, check_scopes
from analytics_mcp.storage.account_types import AccountError, Record, Tenant, Token
from analytics_mcp.storage.schema import api_tokens, tenants
from analytics_mcp.timeutil import parse_iso, to_iso, utcnow_iso

TOKEN_PREFIX = "amcp_"
TOUCH_INTERVAL = timedelta(minutes=1)  # last_used_at granularity: no write per request


def token_hash(plaintext: str) -> str:
    # A plain sha256 is enough: the secret is 256 random bits, not a guessable password.
    return hashlib.sha256(plaintext.encode()).hexdigest()


def _token_query() -> Select[Any]:
    return select(
        api_tokens,
        tenants.c.slug,
        tenants.c.name.label("tenant_name"),
        tenants.c.plan,
        tenants.c.timezone,
    ).join(tenants, tenants.c.id == api_tokens.c.tenant_id)


def _token_from(row: Record) -> Token:
    tenant = Tenant(
        id=row["tenant_id"],
        slug=row["slug"],
        name=row["tenant_name"],
        plan=row["plan"],
        timezone=row["timezone"],
    )
    return Token(
        id=row["id"],
        tenant=tenant,
        name=row["name"],
        scopes=frozenset(row["scopes"].split(",")),
        prefix=row["prefix"],
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )


def create_token(
    conn: Connection, tenant_slug: str, name: str = "default", scopes: Iterable[str] = ("read",)
) -> tuple[Token, str]:
    """A new token and its plaintext, which is returned this once and never stored."""
    clean_name = check_name("name", name)
    clean_scopes = check_scopes(scopes)
    tenant = require_tenant(conn, tenant_slug)
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = Token(
        id=str(ULID()),
        tenant=tenant,
        name=clean_name,
        scopes=clean_scopes,
        prefix=plaintext[:12],
        created_at=utcnow_iso(),
        last_used_at=None,
        revoked_at=None,
    )
    values = {
        "id": token.id,
        "tenant_id": tenant.id,
        "name": token.name,
        "token_hash": token_hash(plaintext),
        "prefix": token.prefix,
        "scopes": ",".join(sorted(clean_scopes)),
        "created_at": token.created_at,
    }
    insert_unique(conn, api_tokens, "token", values)
    return token, plaintext


def verify_token(conn: Connection, plaintext: str) -> Token | None:
    """The live token for this plaintext, else None; touches last_used_at at most once a minute."""
    if not isinstance(plaintext, str) or not plaintext.startswith(TOKEN_PREFIX):
        return None
    query = _token_query().where(api_tokens.c.token_hash == token_hash(plaintext))
    row = conn.execute(query).mappings().first()
    if row is None or row["revoked_at"] is not None:
        return None
    token = _token_from(row)
    now = datetime.now(UTC)
    if token.last_used_at is None or now - parse_iso(token.last_used_at) >= TOUCH_INTERVAL:
        stamp = to_iso(now)
        conn.execute(update(api_tokens).where(api_tokens.c.id == token.id).values(last_used_at=stamp))
        token = dataclasses.replace(token, last_used_at=stamp)
    return token


def list_tokens(conn: Connection, tenant_slug: str) -> list[Token]:
    tenant = require_tenant(conn, tenant_slug)
    query = _token_query().where(api_tokens.c.tenant_id == tenant.id).order_by(api_tokens.c.id)
    return [_token_from(row) for row in conn.execute(query).mappings()]


def revoke_token(conn: Connection, token_id: str, tenant_slug: str | None = None) -> Token:
    """Revoke (idempotent); another tenant's token is reported as not found."""
    row = conn.execute(_token_query().where(api_tokens.c.id == token_id)).mappings().first()
    if row is None or (tenant_slug is not None and row["slug"] != tenant_slug):
        raise AccountError("token", "not found")
    token = _token_from(row)
    if token.revoked_at is not None:
        return token
    stamp = utcnow_iso()
    conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(revoked_at=stamp))
    return dataclasses.replace(token, revoked_at=stamp)
