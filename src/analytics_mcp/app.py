"""The Starlette app factory: one app per call (tests build a fresh one each time)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from analytics_mcp.chat import quiet_content_loggers
from analytics_mcp.chat.clients import ModelClients
from analytics_mcp.config import Settings
from analytics_mcp.dashboard.notfound import not_found
from analytics_mcp.dashboard.routes import consent_routes, dashboard_routes
from analytics_mcp.heap import tune_collector
from analytics_mcp.http_api.errors import EXCEPTION_HANDLERS
from analytics_mcp.http_api.oauth_routes import oauth_routes, oauth_server
from analytics_mcp.http_api.routes import api_routes
from analytics_mcp.http_api.tracker import ingest_routes
from analytics_mcp.platform.activations_sync import register_activation_sync
from analytics_mcp.platform.schedule import segment_schedule
from analytics_mcp.reports.schedule import weekly_reports
from analytics_mcp.services import Services
from analytics_mcp.tools.http import McpEndpoint


def create_app(
    settings: Settings | None = None, services: Services | None = None, *, freeze_heap: bool = False
) -> Starlette:
    """freeze_heap: the server's `tune_collector` once started (not for short-lived test apps)."""
    quiet_content_loggers()  # before anything can log a question or a stored conversation
    settings = settings or (services.settings if services else Settings())
    svc = services or Services.build(settings)
    mcp = McpEndpoint.build(svc)  # one MCP server + session manager per app: run() is once-only
    model_clients = ModelClients(settings)  # the chat's Messages API clients, for the app's life
    register_activation_sync()  # connectors sync after each segment computation

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await svc.start()
        if freeze_heap:
            tune_collector()
        try:
            # reports: only with ANALYTICS_SMTP_URL; segments: daily at ANALYTICS_SEGMENTS_HOUR
            async with mcp.manager.run(), weekly_reports(svc), segment_schedule(svc):
                yield
        finally:
            await model_clients.aclose()
            await svc.close()

    oauth = oauth_server(svc)  # None unless ANALYTICS_PUBLIC_URL is https (or we serve on loopback)
    routes: list[BaseRoute] = [*ingest_routes(), *api_routes(), mcp.route, *dashboard_routes()]
    if oauth is not None:
        routes += [*oauth_routes(oauth, svc), *consent_routes()]
    app = Starlette(
        routes=routes,
        exception_handlers={**EXCEPTION_HANDLERS, 404: not_found},  # HTML 404 for browsers
        lifespan=lifespan,
    )
    app.state.services = svc
    app.state.mcp_server = mcp.server  # the chat calls the same tools in-process
    app.state.model_clients = model_clients
    app.state.oauth = oauth  # the consent page's provider, issuer and resource
    return app
