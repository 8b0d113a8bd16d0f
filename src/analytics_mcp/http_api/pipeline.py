"""What every /api/v1 request goes through, in this order:

authenticate (401) -> count against the token's rate limit, or the dashboard session's own (429)
-> scope (403) -> parse params (400/422, NUL characters refused in any value; a body is read only
up to the route's `max_body`: 413 as soon as it streams past it) -> handler -> serialise
{"data": ..., "meta": ...}. Every response after a successful authentication, errors included,
carries the X-RateLimit-* headers.
No exception escapes: known ones become their status, anything else a logged, generic 500.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from analytics_mcp.field_error import NUL_RULE, has_nul
from analytics_mcp.http_api.auth import authenticate, require_scope, session_rate_key
from analytics_mcp.http_api.csv_report import csv_response
from analytics_mcp.http_api.errormap import to_api_error
from analytics_mcp.http_api.errors import ApiError, error_response, from_validation, handle_unexpected
from analytics_mcp.http_api.framework import ApiContext, ApiRegistry, ApiRoute, Envelope
from analytics_mcp.http_api.tracker import read_body
from analytics_mcp.services import Services
from analytics_mcp.storage.accounts import Token
from analytics_mcp.storage.ratelimit import RateLimitState, limiter_for

_ANY: TypeAdapter[Any] = TypeAdapter(Any)


def starlette_routes(registry: ApiRegistry) -> list[Route]:
    """One Starlette Route per path (so a wrong method is a 405 listing the right ones), then the
    public routes with their own endpoints."""
    by_path: dict[str, dict[str, ApiRoute]] = {}
    for spec in registry.specs:
        by_path.setdefault(spec.full_path, {})[spec.method] = spec
    routes = [
        Route(path, endpoint(specs), methods=list(specs), name=next(iter(specs.values())).operation_id)
        for path, specs in by_path.items()
    ]
    routes += [Route(p.full_path, p.endpoint, methods=list(p.operations)) for p in registry.public]
    return routes


def endpoint(specs: Mapping[str, ApiRoute]) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint for one path; `specs` maps method -> operation."""

    async def serve(request: Request) -> Response:
        spec = specs["GET" if request.method == "HEAD" else request.method]
        return await _serve(spec, request)

    return serve


async def _serve(spec: ApiRoute, request: Request) -> Response:
    services: Services = request.app.state.services
    try:
        token = await authenticate(request, services)
    except Exception as exc:
        return await _failure(request, exc)
    return await serve_as(spec, request, token, await _count(request, token))


async def serve_as(spec: ApiRoute, request: Request, token: Token, state: RateLimitState | None) -> Response:
    """Everything after authentication and counting, for a principal found by any means (a token,
    a session, a share link: dashboard/share): 429, scope, params, handler, envelope, headers."""
    services: Services = request.app.state.services
    try:
        response = await _run(spec, request, services, token, state)
    except Exception as exc:
        response = await _failure(request, exc)
    if state is not None:
        response.headers.update(state.headers())
    return response


async def _count(request: Request, token: Token) -> RateLimitState | None:
    """A dashboard session counts in its own bucket, an API token in the token's: the dashboard's
    requests never spend a token's budget (nor a script's the dashboard's)."""
    limiter = limiter_for(request.app)
    session = session_rate_key(request)
    return await (limiter.hit(token.id) if session is None else limiter.hit_session(session))


async def _run(
    spec: ApiRoute, request: Request, services: Services, token: Token, state: RateLimitState | None
) -> Response:
    if state is not None and not state.allowed:
        raise ApiError(429, f"Too many requests. Retry in {state.retry_after()} seconds.")
    require_scope(token, spec.scope)
    params = await _parse(spec, request)
    ctx = ApiContext(services=services, token=token, tenant=token.tenant, request=request)
    result = await (spec.handler(ctx) if spec.params is None else spec.handler(ctx, params))
    if getattr(params, "format", None) == "csv" and not isinstance(result, Response):
        return as_csv(spec, result)
    return render(spec, result)


async def _failure(request: Request, exc: Exception) -> Response:
    error = to_api_error(exc)
    if error is None:
        return await handle_unexpected(request, exc)  # logs the traceback, answers a plain 500
    return error_response(error)


async def _raw_input(spec: ApiRoute, request: Request) -> dict[str, Any]:
    if spec.body_params:
        return await _json_body(request, spec.max_body)
    query = request.query_params
    return {key: query.getlist(key) if key in spec.array_params else query[key] for key in query}


async def _json_body(request: Request, limit: int) -> dict[str, Any]:
    raw = await read_body(request, limit)
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ApiError(400, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError.invalid("body", "Input should be a JSON object")
    return body


async def _parse(spec: ApiRoute, request: Request) -> BaseModel | None:
    if spec.params is None:
        return None
    raw = await _raw_input(spec, request)
    raw.update(request.path_params)  # the path wins over a same-named query or body field
    try:
        params = spec.params.model_validate(raw)
    except ValidationError as exc:
        raise from_validation(exc, root="body" if spec.body_params else "query") from None
    for name, value in params.model_dump(by_alias=True).items():  # what the route reads
        if has_nul(value):
            raise ApiError.invalid(name, NUL_RULE)
    return params


def as_csv(spec: ApiRoute, result: Any) -> Response:
    """The answer's rows as CSV (`format=csv`): what `data` holds, shaped by the route's csv_rows."""
    if spec.data_adapter is None:
        raise TypeError(f"{spec.operation_id} declares no response type, so it cannot answer CSV")
    data = result.data if isinstance(result, Envelope) else result
    return csv_response(spec.data_adapter, data, spec.operation_id, spec.csv_rows)


def _dump(adapter: TypeAdapter[Any], value: Any) -> Any:
    # Validating first pins the response to its documented schema (and accepts engine dataclasses).
    return adapter.dump_python(adapter.validate_python(value, from_attributes=True), mode="json")


def render(spec: ApiRoute, result: Any) -> Response:
    """The handler's result as the JSON envelope (a Response is passed through untouched)."""
    if isinstance(result, Response):
        return result
    if spec.data_adapter is None:
        raise TypeError(f"{spec.operation_id} declares no response type, so it must return a Response")
    if not spec.envelope:
        body = _dump(spec.data_adapter, result)
    elif isinstance(result, Envelope):
        body = {
            "data": _dump(spec.data_adapter, result.data),
            "meta": _dump(spec.meta_adapter or _ANY, result.meta),
        }
    elif spec.meta is not None:
        raise TypeError(f"{spec.operation_id} declares meta=, so it must return an Envelope")
    else:
        body = {"data": _dump(spec.data_adapter, result)}
    return Response(orjson.dumps(body), status_code=spec.status_code, media_type="application/json")
