"""Short-lived JSON Web Tokens for the platform analytics endpoints (`POST /api/auth/token`).

HS256 (PyJWT) with a key derived from the server secret (ANALYTICS_SECRET_KEY, else the data
directory's `secret_key`): HMAC-SHA256(secret, "analytics-mcp jwt v1"), so the session signing
key itself never signs a token. Claims: `sub` (the dashboard user's id), `tid` (their tenant's
id), `iat`, `exp` (TTL_S later), `iss` and `aud` (both checked), `jti`. A token is pinned to the
tenant it names; the user must still exist in that tenant when it is used.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import jwt

ALGORITHM = "HS256"
ISSUER = "analytics-mcp"
AUDIENCE = "analytics-mcp/api/analytics"
TTL_S = 900  # 15 minutes
_KEY_LABEL = b"analytics-mcp jwt v1"


class InvalidToken(Exception):
    """Expired, badly signed, malformed or for another audience."""


@dataclass(frozen=True, slots=True)
class Claims:
    user_id: int
    tenant_id: int
    expires_at: int


def signing_key(server_secret: str) -> bytes:
    return hmac.new(server_secret.encode(), _KEY_LABEL, hashlib.sha256).digest()


def looks_like_jwt(value: str) -> bool:
    """Three dot-separated parts: never an API token (those have no dots)."""
    return value.count(".") == 2


def issue(server_secret: str, user_id: int, tenant_id: int, now: int, ttl_s: int = TTL_S) -> str:
    claims = {
        "sub": str(user_id),
        "tid": tenant_id,
        "iat": now,
        "exp": now + ttl_s,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "jti": secrets.token_urlsafe(12),
    }
    return jwt.encode(claims, signing_key(server_secret), algorithm=ALGORITHM)


def verify(server_secret: str, token: str, now: int) -> Claims:
    """The token's claims if it is ours and live at `now` (no leeway)."""
    try:
        claims = jwt.decode(
            token,
            signing_key(server_secret),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "tid"], "verify_exp": False},
        )
        user_id, tenant_id, expires = int(claims["sub"]), int(claims["tid"]), int(claims["exp"])
    except (jwt.InvalidTokenError, ValueError, TypeError):
        raise InvalidToken("invalid token") from None
    if now >= expires:  # checked here against the caller's clock, so tests can pin it
        raise InvalidToken("token expired")
    return Claims(user_id, tenant_id, expires)
