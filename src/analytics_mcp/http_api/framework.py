"""The declarative /api/v1 route helper and the one registry that routes and OpenAPI share.

    @api_route("/stats/pages", params=PagesParams, response=list[PageRow], meta=PagesMeta,
               summary="Top pages")
    async def pages(ctx: ApiContext, params: PagesParams) -> Envelope[list[PageRow]]:
        return Envelope(rows, PagesMeta(...))

A handler gets `(ctx, params)` (just `(ctx)` without a params model) and returns the `data`
payload, an `Envelope(data, meta)` when the route declares `meta=`, or a Starlette Response of
its own (streams, files). `envelope=False` sends the payload itself, unwrapped, for the routes
documented with bare bodies (docs/api.md, "Bodies"; e.g. /metrics/summary). Public endpoints (no
token, e.g. the A/B tracking call) are `PublicRoute`s: their own endpoint, documented by hand.

Every other request is authenticated, rate limited, scope checked and parsed before the handler
runs; see `pipeline` for the order.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter
from sqlalchemy import Connection
from starlette.requests import Request
from starlette.routing import Route

from analytics_mcp.services import Services
from analytics_mcp.storage.accounts import Tenant, Token

API_PREFIX = "/api/v1"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
MAX_BODY_BYTES = 64 * 1024  # a JSON body's default limit, enforced while reading (413)
PATH_PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")

T = TypeVar("T")
Handler = Callable[..., Awaitable[Any]]
H = TypeVar("H", bound=Handler)


@dataclass(frozen=True, slots=True)
class ApiContext:
    """Who is asking and with what: the authenticated token and its tenant."""

    services: Services
    token: Token
    tenant: Tenant
    request: Request

    async def db(self, fn: Callable[[Connection], T]) -> T:
        """Run a sync storage function in one transaction: `await ctx.db(lambda c: ...)`."""
        async with self.services.db.aio.begin() as conn:
            return await conn.run_sync(fn)


@dataclass(frozen=True, slots=True)
class Envelope(Generic[T]):
    """A payload with its `meta` object: serialised as {"data": ..., "meta": ...}."""

    data: T
    meta: Any


@dataclass(frozen=True)
class ApiRoute:
    """One documented operation; `path` is relative to /api/v1 (e.g. "/goals/{goal}")."""

    path: str
    method: str
    handler: Handler
    operation_id: str
    params: type[BaseModel] | None
    response: Any
    meta: Any
    scope: str
    summary: str
    description: str
    tags: tuple[str, ...]
    status_code: int
    content: Mapping[str, Any] | None
    errors: tuple[int, ...]
    envelope: bool = True  # False: the response body is the payload itself, no {"data": ...}
    max_body: int = MAX_BODY_BYTES  # body routes: larger bodies are refused with 413 while read
    data_adapter: TypeAdapter[Any] | None = field(init=False, repr=False)
    meta_adapter: TypeAdapter[Any] | None = field(init=False, repr=False)
    path_params: frozenset[str] = field(init=False, repr=False)
    array_params: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Built once here, so a bad response type fails at import, not on the first request.
        set_ = object.__setattr__
        set_(self, "data_adapter", None if self.response is None else TypeAdapter(self.response))
        set_(self, "meta_adapter", None if self.meta is None else TypeAdapter(self.meta))
        set_(self, "path_params", frozenset(PATH_PARAM.findall(self.path)))
        set_(self, "array_params", _array_fields(self.params))

    @property
    def full_path(self) -> str:
        return API_PREFIX + self.path

    @property
    def body_params(self) -> bool:
        return self.method in BODY_METHODS


def _array_fields(params: type[BaseModel] | None) -> frozenset[str]:
    """Params that take repeated query values (`?f=a&f=b`): the list-typed ones."""
    if params is None:
        return frozenset()
    props = params.model_json_schema(mode="validation").get("properties", {})

    def is_array(schema: Mapping[str, Any]) -> bool:
        return schema.get("type") == "array" or any(is_array(s) for s in schema.get("anyOf", ()))

    return frozenset(name for name, schema in props.items() if is_array(schema))


@dataclass(frozen=True)
class PublicRoute:
    """A public /api/v1 path served by its own endpoint: no token, no rate limit (e.g. the A/B
    tracking call, CORS-open). `operations` maps each method to its OpenAPI operation object."""

    path: str  # relative to /api/v1
    endpoint: Callable[[Request], Awaitable[Any]]
    operations: Mapping[str, Mapping[str, Any]]


class ApiRegistry:
    """All /api/v1 operations; `routes()` feeds Starlette, `specs` feeds the OpenAPI document."""

    def __init__(self) -> None:
        self._specs: dict[tuple[str, str], ApiRoute] = {}
        self._public: dict[str, PublicRoute] = {}
        self.version = 0  # bumped on every change, so cached documents know they are stale

    @property
    def specs(self) -> list[ApiRoute]:
        return list(self._specs.values())

    @property
    def public(self) -> list[PublicRoute]:
        return list(self._public.values())

    def add_public(self, route: PublicRoute) -> None:
        if route.path in self._public or any(spec.path == route.path for spec in self._specs.values()):
            raise ValueError(f"duplicate API path {route.path}")
        self._public[route.path] = route
        self.version += 1

    def add(self, spec: ApiRoute) -> None:
        if (spec.method, spec.path) in self._specs:
            raise ValueError(f"duplicate API route {spec.method} {spec.path}")
        if any(other.operation_id == spec.operation_id for other in self._specs.values()):
            raise ValueError(f"duplicate operation id {spec.operation_id!r} ({spec.path})")
        self._specs[(spec.method, spec.path)] = spec
        self.version += 1

    def route(
        self,
        path: str,
        *,
        summary: str,
        params: type[BaseModel] | None = None,
        response: Any = None,
        meta: Any = None,
        scope: str = "read",
        method: str = "GET",
        description: str = "",
        tags: Iterable[str] = (),
        status_code: int = 200,
        content: Mapping[str, Any] | None = None,
        errors: Iterable[int] = (),
        operation_id: str | None = None,
        envelope: bool = True,
        max_body: int = MAX_BODY_BYTES,
    ) -> Callable[[H], H]:
        """Register `handler` as METHOD /api/v1{path}. `response` is the type of `data` (a model,
        `list[Model]`, ...; None when the handler returns its own Response, then `content` is the
        OpenAPI content of its 200). `errors` adds documented statuses (e.g. 404). `max_body`: the
        largest JSON body a POST/PUT/PATCH route reads."""
        if not path.startswith("/"):
            raise ValueError(f"API path must start with '/': {path!r}")

        def decorate(handler: H) -> H:
            self.add(
                ApiRoute(
                    path=path,
                    method=method.upper(),
                    handler=handler,
                    operation_id=operation_id or handler.__name__,
                    params=params,
                    response=response,
                    meta=meta,
                    scope=scope,
                    summary=summary,
                    description=description or (handler.__doc__ or "").strip(),
                    tags=tuple(tags) or (path.strip("/").split("/")[0],),
                    status_code=status_code,
                    content=content,
                    errors=tuple(errors),
                    envelope=envelope,
                    max_body=max_body,
                )
            )
            return handler

        return decorate

    def routes(self) -> list[Route]:
        """One Starlette Route per path (so a wrong method is a 405 listing the right ones)."""
        from analytics_mcp.http_api.pipeline import endpoint  # the pipeline needs these types

        by_path: dict[str, dict[str, ApiRoute]] = {}
        for spec in self._specs.values():
            by_path.setdefault(spec.full_path, {})[spec.method] = spec
        routes = [
            Route(path, endpoint(specs), methods=list(specs), name=next(iter(specs.values())).operation_id)
            for path, specs in by_path.items()
        ]
        routes += [Route(API_PREFIX + p.path, p.endpoint, methods=list(p.operations)) for p in self.public]
        return routes


REGISTRY = ApiRegistry()
api_route = REGISTRY.route
