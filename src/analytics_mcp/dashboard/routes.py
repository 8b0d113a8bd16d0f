"""Every dashboard route for app.py; pages and static files get the CSP and security headers."""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route

from analytics_mcp.dashboard import consent, pages
from analytics_mcp.dashboard.data import data_routes
from analytics_mcp.dashboard.security import SecurityHeaders
from analytics_mcp.dashboard.settings.account import account_routes
from analytics_mcp.dashboard.settings.pages import settings_routes
from analytics_mcp.dashboard.share.routes import share_routes
from analytics_mcp.dashboard.views import static_app
from analytics_mcp.http_api.body_limit import MAX_FORM_BYTES, BodyLimit
from analytics_mcp.http_api.oauth_provider import CONSENT_PATH

SECURE = [Middleware(SecurityHeaders)]
FORM = [*SECURE, Middleware(BodyLimit, limit=MAX_FORM_BYTES)]
STATIC = [Middleware(SecurityHeaders, no_store=False)]


def dashboard_routes() -> list[BaseRoute]:
    return [
        Route("/", pages.root, middleware=SECURE),
        Route("/login", pages.login_get, methods=["GET"], middleware=SECURE),
        Route("/login", pages.login_post, methods=["POST"], middleware=FORM),
        Route("/logout", pages.logout, methods=["POST"], middleware=FORM),
        Route("/dashboard", pages.dashboard, middleware=SECURE),
        Mount("/dashboard/static", app=static_app(), name="dashboard-static", middleware=STATIC),
        *data_routes(),
        *settings_routes(SECURE, FORM),
        *account_routes(SECURE, FORM),
        *share_routes(SECURE, FORM),
    ]


def consent_routes() -> list[BaseRoute]:
    """The OAuth consent page (only when the authorization server is on: app.py)."""
    return [
        Route(CONSENT_PATH, consent.consent_get, methods=["GET"], middleware=SECURE),
        Route(CONSENT_PATH, consent.consent_post, methods=["POST"], middleware=FORM),
    ]
