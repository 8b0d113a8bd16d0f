"""Every /api route for app.py: health, the OpenAPI document and the registry's operations.

Route modules register themselves on import (`@api_route`), so importing them here is what puts
them in both the app and the OpenAPI document.
"""

from __future__ import annotations

import importlib

from starlette.routing import BaseRoute

from analytics_mcp.http_api.framework import REGISTRY
from analytics_mcp.http_api.health import health_routes
from analytics_mcp.http_api.openapi import openapi_route

ROUTE_MODULES = (
    "analytics_mcp.http_api.events",
    "analytics_mcp.http_api.stats",
    "analytics_mcp.http_api.ecommerce",
    "analytics_mcp.http_api.goals",
    "analytics_mcp.http_api.export",
    "analytics_mcp.http_api.export_schemas",
    "analytics_mcp.http_api.chat",
    "analytics_mcp.http_api.experiments",
    "analytics_mcp.http_api.metrics",
    "analytics_mcp.http_api.metrics_track",
)


def load_route_modules() -> None:
    for name in ROUTE_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # TODO(lead): make this strict once the route modules have landed; only a module
            # that does not exist yet is tolerated, never an import error inside one.
            if exc.name != name:
                raise


def api_routes() -> list[BaseRoute]:
    load_route_modules()
    return [*health_routes(), openapi_route(REGISTRY), *REGISTRY.routes()]
