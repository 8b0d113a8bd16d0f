"""The declarative /api/v1 route helper: each route module declares its operations in its own
`RouteTable`, and `http_api.routes` composes the tables into the one `ApiRegistry` that the app's
routes and the OpenAPI document share.

    routes = RouteTable()

    @routes.route("/stats/pages", params=PagesParams, response=list[PageRow], meta=PagesMeta,
                  summary="Top pages")
    async def pages(ctx: ApiContext, params: PagesParams) -> Envelope[list[PageRow]]:
        return Envelope(rows, PagesMeta(...))

A handler gets `(ctx, params)` (just `(ctx)` without a params model) and returns the `data`
payload, an `Envelope(data, meta)` when the route declares `meta=`, or a Starlette Response of
its own (streams, files). `envelope=False` sends the payload itself, unwrapped, for the
endpoints documented with bare bodies (the A/B /metrics endpoints). Public endpoints (no token,
e.g. the A/B tracking call) are `PublicRoute`s: their own endpoint, documented by hand.

Every other request is authenticated, rate limited, scope checked and parsed before the handler
runs; see `pipeline` for the order.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter
from sqlalchemy import Connection
from starlette.requests import Request

from analytics_mcp.http_api.csv_report import RowsOf
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
    """One documented operation; `path` is relative to `prefix` (e.g. "/goals/{goal}")."""

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
    prefix: str = API_PREFIX  # where the table it was declared in is served
    csv_rows: RowsOf | None = None  # format=csv of an answer whose rows are nested in it
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
        return self.prefix + self.path

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

    path: str  # relative to `prefix`
    endpoint: Callable[[Request], Awaitable[Any]]
    operations: Mapping[str, Mapping[str, Any]]
    prefix: str = API_PREFIX

    @property
    def full_path(self) -> str:
        return self.prefix + self.path


class RouteTable:
    """One module's operations, in the order declared: `@routes.route(...)` appends to this table
    and to nothing else. Iterating it gives them, for `ApiRegistry`."""

    def __init__(self, prefix: str = API_PREFIX) -> None:
        self.prefix = prefix
        self._routes: list[ApiRoute] = []

    def __iter__(self) -> Iterator[ApiRoute]:
        return iter(self._routes)

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
        csv_rows: RowsOf | None = None,
    ) -> Callable[[H], H]:
        """Declare `handler` as METHOD {prefix}{path}. `response` is the type of `data` (a model,
        `list[Model]`, ...; None when the handler returns its own Response, then `content` is the
        OpenAPI content of its 200). `errors` adds documented statuses (e.g. 404). `max_body`: the
        largest JSON body a POST/PUT/PATCH route reads."""
        if not path.startswith("/"):
            raise ValueError(f"API path must start with '/': {path!r}")

        def declare(handler: H) -> H:
            self._routes.append(
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
                    prefix=self.prefix,
                    csv_rows=csv_rows,
                )
            )
            return handler

        return declare


class ApiRegistry:
    """The operations served under one prefix, composed explicitly from route tables and public
    routes (`ApiRegistry([*stats.routes, *goals.routes])`): `specs` feed the app's routes and the
    OpenAPI document, `public` the hand-documented public paths. Checked once, never changed."""

    def __init__(self, entries: Iterable[ApiRoute | PublicRoute], prefix: str = API_PREFIX) -> None:
        self.prefix = prefix
        specs: dict[tuple[str, str], ApiRoute] = {}
        public: dict[str, PublicRoute] = {}
        for entry in entries:
            if entry.prefix != prefix:
                raise ValueError(f"{entry.full_path} is not under {prefix}")
            if isinstance(entry, PublicRoute):
                _check_public(entry, specs, public)
                public[entry.path] = entry
            else:
                _check_operation(entry, specs, public)
                specs[(entry.method, entry.path)] = entry
        self.specs: tuple[ApiRoute, ...] = tuple(specs.values())
        self.public: tuple[PublicRoute, ...] = tuple(public.values())


def _check_public(
    route: PublicRoute, specs: Mapping[tuple[str, str], ApiRoute], public: Mapping[str, PublicRoute]
) -> None:
    if route.path in public or any(spec.path == route.path for spec in specs.values()):
        raise ValueError(f"duplicate API path {route.path}")


def _check_operation(
    spec: ApiRoute, specs: Mapping[tuple[str, str], ApiRoute], public: Mapping[str, PublicRoute]
) -> None:
    if (spec.method, spec.path) in specs or spec.path in public:
        raise ValueError(f"duplicate API route {spec.method} {spec.path}")
    if any(other.operation_id == spec.operation_id for other in specs.values()):
        raise ValueError(f"duplicate operation id {spec.operation_id!r} ({spec.path})")
