"""Every /api route for app.py: health, the OpenAPI document and the /api/v1 operations.

Each route module declares its operations in its own `routes` table; this list is where they
are put together, explicitly: what is not listed here is neither served nor documented.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from analytics_mcp.http_api import (
    chat,
    ecommerce,
    events,
    experiments,
    export,
    export_schemas,
    goals,
    metrics,
    metrics_track,
    platform_analytics,
    profiles,
    segments,
    stats,
    stats_behaviour,
    stats_breakdown,
)
from analytics_mcp.http_api.auth_token import auth_token_routes
from analytics_mcp.http_api.framework import ApiRegistry
from analytics_mcp.http_api.health import health_routes
from analytics_mcp.http_api.openapi import openapi_route
from analytics_mcp.http_api.pipeline import starlette_routes

# In this order in the app's routes and in the OpenAPI document's paths.
API_V1 = ApiRegistry(
    [
        *stats.routes,
        *stats_breakdown.routes,
        *stats_behaviour.routes,
        *events.routes,
        *profiles.routes,
        *segments.routes,
        *ecommerce.routes,
        *goals.routes,
        *export.routes,
        *export_schemas.routes,
        *chat.routes,
        *experiments.routes,
        *metrics.routes,
        *metrics_track.routes,
    ]
)


# Platform analytics (seed 001): its own prefix, its own OpenAPI document.
API_ANALYTICS = ApiRegistry([*platform_analytics.routes], prefix=platform_analytics.PREFIX)


def api_routes() -> list[BaseRoute]:
    return [
        *health_routes(),
        openapi_route(API_V1),
        *starlette_routes(API_V1),
        openapi_route(API_ANALYTICS),
        *starlette_routes(API_ANALYTICS),
        *auth_token_routes(),
    ]
