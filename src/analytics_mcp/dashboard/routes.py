"""Every dashboard route for app.py; pages and static files get the CSP and security headers."""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route

from analytics_mcp.dashboard import pages
from analytics_mcp.dashboard.data import data_routes
from analytics_mcp.dashboard.security import BodyLimit, SecurityHeaders
from analytics_mcp.dashboard.views import static_app

MAX_FORM_BYTES = 16 * 1024  # sign-in and sign-out forms: a few short fields
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
    ]
