"""Every endpoint of the real app, read from the app itself (its Starlette routes, with the
declared operation of each /api/v1, /api/analytics and dashboard-data route), so a route added later is in the
reliability suite the day it is added."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.routing import Mount, Route

from analytics_mcp.dashboard import data as dashboard_data
from analytics_mcp.http_api.framework import API_PREFIX, ApiRoute
from analytics_mcp.http_api.routes import API_ANALYTICS, API_V1
from analytics_mcp.tools.http import MCP_PATH

ANY_METHOD = "*"  # an ASGI app as endpoint takes every method (the MCP endpoint)
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", ANY_METHOD})
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
Dialect = Literal["api", "mcp", "page"]


@dataclass(frozen=True)
class Endpoint:
    method: str  # GET, POST, ... or ANY_METHOD; HEAD is GET's twin and not listed
    path: str  # as routed, e.g. /api/v1/goals/{goal}/completions; a Mount's is <mount>/{path}
    operation: ApiRoute | None  # the declared operation behind it (/api/v1, /dashboard/api)

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def takes_body(self) -> bool:
        return self.method in BODY_METHODS

    @property
    def dialect(self) -> Dialect:
        """How it answers errors: the JSON error shape (/api, /dashboard/api), JSON-RPC (MCP),
        or pages and redirects (the dashboard's sign-in and pages)."""
        if self.path == MCP_PATH:
            return "mcp"
        if self.path.startswith(("/api/", "/dashboard/api/")):
            return "api"
        return "page"


def operations() -> dict[tuple[str, str], ApiRoute]:
    """(method, full path) -> declared operation, for /api/v1, /api/analytics and the dashboard's
    data routes."""
    specs = (*API_V1.specs, *API_ANALYTICS.specs, *dashboard_data.DASHBOARD_API.specs)
    return {(spec.method, spec.full_path): spec for spec in specs}


def endpoints(app: Starlette) -> list[Endpoint]:
    declared = operations()
    found: list[Endpoint] = []
    for route in app.routes:
        if isinstance(route, Mount):
            found.append(Endpoint("GET", route.path + "/{path}", None))
        elif isinstance(route, Route):
            methods = sorted(route.methods - {"HEAD"}) if route.methods else [ANY_METHOD]
            found += [Endpoint(m, route.path, declared.get((m, route.path))) for m in methods]
        else:
            raise AssertionError(
                f"{route!r} is neither a Route nor a Mount: teach tests/reliability/app_routes.py "
                "how to enumerate it, so the reliability suite covers it"
            )
    return found


def documented(document: Mapping[str, Any]) -> set[str]:
    """`METHOD /full/path` of every operation in the OpenAPI document."""
    prefix = "" if any(p.startswith(API_PREFIX) for p in document["paths"]) else API_PREFIX
    return {
        f"{method.upper()} {prefix}{path}"
        for path, item in document["paths"].items()
        for method in item
        if method.upper() in HTTP_METHODS
    }
