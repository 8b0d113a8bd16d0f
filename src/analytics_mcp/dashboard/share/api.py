"""The REST reads a share link's dashboard makes: `/share/{secret}/api/v1/stats/...` and
`/share/{secret}/dashboard/api/...` run the very same operations as `/api/v1` and `/dashboard/api`
(same params, engine, numbers and error shape), as the link's read-only principal, with `site`
pinned to the link's site whatever the query says. Only site-scoped report reads are open (no
export, chat, experiments or anything that writes); anything else is a 404, like an unknown link.
Each link counts against a rate limit bucket of its own (the dashboard session limit, keyed by
the link), never an API token's or a signed-in session's.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path

from analytics_mcp.dashboard.data import DASHBOARD_API
from analytics_mcp.dashboard.share.access import open_link, unlocked
from analytics_mcp.http_api.errors import ApiError, error_response
from analytics_mcp.http_api.framework import ApiRoute
from analytics_mcp.http_api.pipeline import serve_as
from analytics_mcp.http_api.routes import API_V1
from analytics_mcp.storage.ratelimit import limiter_for

REPORT_TAGS = frozenset({"stats", "ecommerce", "dashboard"})
NOT_FOUND = "Resource not found."


def _shareable(spec: ApiRoute) -> bool:
    """A GET report of one site (it takes `site`, which the link pins)."""
    takes_site = spec.params is not None and "site" in spec.params.model_fields
    return spec.method == "GET" and takes_site and bool(REPORT_TAGS & set(spec.tags))


SHAREABLE: tuple[tuple[re.Pattern[str], ApiRoute], ...] = tuple(
    (compile_path(spec.full_path)[0], spec)
    for spec in (*API_V1.specs, *DASHBOARD_API.specs)
    if _shareable(spec)
)


def _match(path: str) -> tuple[ApiRoute, dict[str, str]] | None:
    for pattern, spec in SHAREABLE:
        found = pattern.match(path)
        if found:
            return spec, found.groupdict()
    return None


async def share_api(request: Request) -> Response:
    opened = await open_link(request)
    path = "/" + str(request.path_params.get("rest", ""))
    matched = _match(path)
    if opened is None or matched is None:
        return error_response(ApiError(404, NOT_FOUND))
    if not unlocked(request, opened):
        return error_response(ApiError(401, "This share link needs its password: open the link again."))
    spec, path_params = matched
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "site"]
    query.append(("site", opened.link.domain))
    scope = {**request.scope, "path": path, "raw_path": path.encode(), "path_params": path_params}
    scope["query_string"] = urlencode(query).encode()
    state = await limiter_for(request.app).hit_session(f"share:{opened.link.id}")
    return await serve_as(spec, Request(scope, request.receive), opened.principal(), state)
