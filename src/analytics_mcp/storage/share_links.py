"""Read-only share links: one site's dashboard for whoever holds the link, optionally behind a
password (hashed like users' passwords). Sync functions taking a Connection first, like
`storage.accounts`; another tenant's link or site answers "not found", like none.

The link's secret is shown once (`create_share_link` returns it) and stored as its SHA-256.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, select, update
from ulid import ULID

from analytics_mcp.storage.account_core import get_site, insert_unique
from analytics_mcp.storage.account_rules import MIN_PASSWORD, check_name
from analytics_mcp.storage.account_tokens import token_hash
from analytics_mcp.storage.account_types import AccountError, Record, Site
from analytics_mcp.storage.passwords import hash_password
from analytics_mcp.storage.schema import sites
from analytics_mcp.storage.sharing_schema import share_links
from analytics_mcp.timeutil import utcnow_iso

SECRET_BYTES = 32
MAX_SECRET = 64  # ours are 43 characters: anything longer is refused unread


@dataclass(frozen=True, slots=True)
class ShareLink:
    id: str
    site_id: int
    domain: str
    label: str
    prefix: str
    password_hash: str | None
    created_at: str
    revoked_at: str | None

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None


def _query() -> Select[Any]:
    return select(share_links, sites.c.domain, sites.c.tenant_id).join(
        sites, sites.c.id == share_links.c.site_id
    )


def _link(values: Record) -> ShareLink:
    return ShareLink(
        id=values["id"],
        site_id=values["site_id"],
        domain=values["domain"],
        label=values["label"],
        prefix=values["prefix"],
        password_hash=values["password_hash"],
        created_at=values["created_at"],
        revoked_at=values["revoked_at"],
    )


def check_share_password(password: str) -> str | None:
    """An empty password means none; a set one follows the users' password rule."""
    if not password:
        return None
    if len(password) < MIN_PASSWORD:
        raise AccountError("password", f"must be empty (no password) or at least {MIN_PASSWORD} characters")
    return password


def create_share_link(
    conn: Connection, tenant_id: int, domain: str, label: str, password: str = ""
) -> tuple[ShareLink, str]:
    """A new link to the site's dashboard and its secret, returned this once."""
    clean_label = check_name("label", label or domain or "share")
    clean_password = check_share_password(password)
    site: Site | None = get_site(conn, domain)
    if site is None or site.tenant_id != tenant_id:
        raise AccountError("site", "not found")
    secret = secrets.token_urlsafe(SECRET_BYTES)
    values = {
        "id": str(ULID()),
        "site_id": site.id,
        "token_hash": token_hash(secret),
        "prefix": secret[:8],
        "label": clean_label,
        "password_hash": None if clean_password is None else hash_password(clean_password),
        "created_at": utcnow_iso(),
        "revoked_at": None,
    }
    insert_unique(conn, share_links, "share", values)
    return _link({**values, "domain": site.domain}), secret


def list_share_links(conn: Connection, tenant_id: int) -> list[ShareLink]:
    query = _query().where(sites.c.tenant_id == tenant_id).order_by(sites.c.domain, share_links.c.id)
    return [_link(row) for row in conn.execute(query).mappings()]


def revoke_share_link(conn: Connection, tenant_id: int, link_id: str) -> ShareLink:
    """Revoke (idempotent): the link answers 404 from now on."""
    query = _query().where(share_links.c.id == link_id, sites.c.tenant_id == tenant_id)
    row = conn.execute(query).mappings().first()
    if row is None:
        raise AccountError("share", "not found")
    link = _link(row)
    if link.revoked_at is None:
        stamp = utcnow_iso()
        conn.execute(update(share_links).where(share_links.c.id == link_id).values(revoked_at=stamp))
        link = _link({**row, "revoked_at": stamp})
    return link


def open_share_link(conn: Connection, secret: str) -> tuple[ShareLink, int] | None:
    """The live link of this secret and its tenant's id, else None (unknown or revoked alike)."""
    if not secret or len(secret) > MAX_SECRET:
        return None
    row = conn.execute(_query().where(share_links.c.token_hash == token_hash(secret))).mappings().first()
    if row is None or row["revoked_at"] is not None:
        return None
    return _link(row), int(row["tenant_id"])
