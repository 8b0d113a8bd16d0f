"""The share link routes for dashboard/routes.py."""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route

from analytics_mcp.dashboard.share.access import SHARE_PREFIX
from analytics_mcp.dashboard.share.api import share_api
from analytics_mcp.dashboard.share.page import share_page, share_unlock


def share_routes(page_middleware: list[Middleware], form_middleware: list[Middleware]) -> list[BaseRoute]:
    return [
        Route(f"{SHARE_PREFIX}/{{secret}}", share_page, methods=["GET"], middleware=page_middleware),
        Route(f"{SHARE_PREFIX}/{{secret}}", share_unlock, methods=["POST"], middleware=form_middleware),
        Route(
            f"{SHARE_PREFIX}/{{secret}}/{{rest:path}}", share_api, methods=["GET"], middleware=page_middleware
        ),
    ]
