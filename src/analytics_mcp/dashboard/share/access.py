"""Who holds a share link: the live link of a URL's secret, its password proof (a cookie scoped
to the link's path), and the principal its API reads run as.

The principal is shaped like a `read` token of the link's tenant; every read it makes is pinned
to the link's site by `api.py`, so it never sees the tenant's other sites. A revoked or unknown
secret, and a link whose password was changed, open nothing.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from analytics_mcp.dashboard.security import is_https
from analytics_mcp.dashboard.state import dashboard_state, services_of
from analytics_mcp.storage.account_types import Tenant, Token
from analytics_mcp.storage.accounts import get_tenant_by_id
from analytics_mcp.storage.share_links import ShareLink, open_share_link

SHARE_PREFIX = "/share"
COOKIE = "amcp_share"
COOKIE_TTL_S = 7 * 24 * 3600


@dataclass(frozen=True)
class OpenLink:
    link: ShareLink
    tenant: Tenant
    secret: str

    @property
    def base(self) -> str:
        """The link's own path: its page, its API and its cookie live under it."""
        return f"{SHARE_PREFIX}/{self.secret}"

    def principal(self) -> Token:
        return Token(
            id=f"share:{self.link.id}",
            tenant=self.tenant,
            name=f"share link {self.link.label}",
            scopes=frozenset({"read"}),
            prefix="share",
            created_at=self.link.created_at,
            last_used_at=None,
            revoked_at=None,
        )


async def open_link(request: Request) -> OpenLink | None:
    secret = str(request.path_params.get("secret", ""))
    async with services_of(request).db.aio.connect() as conn:
        found = await conn.run_sync(lambda sync: open_share_link(sync, secret))
        if found is None:
            return None
        link, tenant_id = found
        tenant = await conn.run_sync(lambda sync: get_tenant_by_id(sync, tenant_id))
    return None if tenant is None else OpenLink(link, tenant, secret)


def _proof(request: Request, link: ShareLink) -> str:
    # Bound to the stored hash: a new password (or none) invalidates every earlier proof.
    message = f"share-password:{link.id}:{link.password_hash}".encode()
    return hmac.new(dashboard_state(request.app).secret.encode(), message, hashlib.sha256).hexdigest()


def unlocked(request: Request, opened: OpenLink) -> bool:
    """No password, or this browser proved it knows it."""
    if not opened.link.has_password:
        return True
    sent = request.cookies.get(COOKIE, "")
    return hmac.compare_digest(sent.encode(), _proof(request, opened.link).encode())


def remember_unlock(response: Response, request: Request, opened: OpenLink) -> None:
    """The password proof, sent back only to this link's own page and reads (path-scoped)."""
    response.set_cookie(
        COOKIE,
        _proof(request, opened.link),
        max_age=COOKIE_TTL_S,
        path=opened.base,
        httponly=True,
        samesite="lax",
        secure=is_https(request, services_of(request).settings),
    )
