"""CSRF tokens, all HMAC-SHA256 under the app's secret key (no server state of their own).

- Signed-in requests: the token is derived from the session token, so it lives and dies with the
  session. Pages embed it; scripts send it as `X-CSRF-Token`, forms as the `csrf` field.
- The sign-in form (no session yet): signed double submit. A random nonce goes in an HttpOnly
  cookie and the form carries HMAC(nonce); a forged cross-site POST has neither.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

HEADER = "x-csrf-token"
FIELD = "csrf"
MAX_LENGTH = 128


def _mac(secret: str, purpose: str, value: str) -> str:
    return hmac.new(secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def matches(expected: str, submitted: str | None) -> bool:
    """Constant-time comparison that treats a missing or oversized value as a mismatch."""
    if not submitted or len(submitted) > MAX_LENGTH:
        return False
    return hmac.compare_digest(expected.encode(), submitted.encode())


def session_token(secret: str, session: str) -> str:
    """The CSRF token of a signed-in session."""
    return _mac(secret, "session-csrf", session)


def new_login_pair(secret: str) -> tuple[str, str]:
    """(cookie nonce, form token) for one rendering of the sign-in form."""
    nonce = secrets.token_urlsafe(24)
    return nonce, _mac(secret, "login-csrf", nonce)


def login_ok(secret: str, nonce: str | None, submitted: str | None) -> bool:
    if not nonce or len(nonce) > MAX_LENGTH:
        return False
    return matches(_mac(secret, "login-csrf", nonce), submitted)
