"""404 for people: a browser that asks for a page we do not have (`Accept: text/html`, a path
outside the machine-read prefixes) gets an HTML page with a way back; everyone else, and every
path under /api/, keeps the one JSON error shape (`http_api/errors.py`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from analytics_mcp.dashboard.security import HEADERS
from analytics_mcp.dashboard.views import page
from analytics_mcp.http_api.errors import handle_http_exception

# Read by programs (REST, the dashboard's own data routes, MCP, OAuth discovery): always JSON.
MACHINE_PREFIXES = ("/api/", "/dashboard/api/", "/mcp", "/.well-known/")
MAX_SHOWN_PATH = 200


def wants_page(request: Request) -> bool:
    """A browser navigation to a path that is not an API's."""
    path = request.url.path
    if path == "/api" or path.startswith(MACHINE_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


async def not_found(request: Request, exc: Exception) -> Response:
    """The app's handler for 404 (Starlette's status handler: unknown routes, missing static files)."""
    if not wants_page(request):
        return await handle_http_exception(request, exc)
    path = request.url.path
    shown = path if len(path) <= MAX_SHOWN_PATH else path[:MAX_SHOWN_PATH] + "…"
    response = page("not_found.html", 404, path=shown)
    response.headers.update({**HEADERS, "Cache-Control": "no-store"})
    return response
