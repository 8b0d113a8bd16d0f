"""Browser-facing hardening for dashboard responses: cookies, HTTPS detection, security headers,
bounded form bodies."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from analytics_mcp.config import Settings

LOGIN_COOKIE = "amcp_login_csrf"

# No inline script or style anywhere: every byte of script and CSS is a file under /dashboard/static.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _trusted_peer(request: Request, settings: Settings) -> bool:
    return settings.is_trusted_proxy(request.client.host if request.client else "")


def is_https(request: Request, settings: Settings) -> bool:
    """HTTPS as the browser sees it: our own scheme, or X-Forwarded-Proto from a trusted proxy."""
    if request.url.scheme == "https":
        return True
    if not _trusted_peer(request, settings):
        return False
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return proto == "https"


def set_cookie(
    response: Response, request: Request, settings: Settings, name: str, value: str, max_age: int | None
) -> None:
    """HttpOnly (scripts never need it), SameSite=Lax, Secure whenever the browser is on HTTPS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request, settings),
    )


def clear_cookie(response: Response, request: Request, settings: Settings, name: str) -> None:
    response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=is_https(request, settings))


class SecurityHeaders:
    """Pure-ASGI middleware adding the CSP and friends (and no-store for pages with session data)."""

    def __init__(self, app: ASGIApp, *, no_store: bool = True) -> None:
        self.app = app
        self.no_store = no_store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in HEADERS.items():
                    headers.setdefault(key, value)
                if self.no_store:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
