"""The /api/v1 framework: auth, scopes, params, the envelope, rate limit, errors and OpenAPI, through
test-only routes kept in their own registry (so they never reach the real OpenAPI document)."""

from __future__ import annotations

import logging
import time
from datetime import date
from typing import Any, Literal

import httpx2
import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse

from analytics_mcp.config import Settings
from analytics_mcp.engine.errors import QueryError
from analytics_mcp.http_api import health
from analytics_mcp.http_api.framework import ApiContext, ApiRegistry, Envelope, PublicRoute, RouteTable
from analytics_mcp.http_api.openapi import openapi_document
from analytics_mcp.http_api.pipeline import starlette_routes
from analytics_mcp.storage.accounts import create_tenant, create_token, get_tenant, revoke_token
from analytics_mcp.storage.ratelimit import RateLimiter

pytestmark = pytest.mark.backends()

LIMIT = 5
TEST = RouteTable()  # test-only routes, composed into TEST_API below


class EchoParams(BaseModel):
    limit: int = Field(10, ge=1, le=100, description="Max rows.")
    from_: date | None = Field(None, alias="from", description="First day, inclusive.")
    order: Literal["asc", "desc"] = "desc"
    tags: list[str] = Field(default_factory=list, description="Repeatable.")


class EchoRow(BaseModel):
    tenant: str
    limit: int
    start: date | None
    order: str
    tags: list[str]


class EchoMeta(BaseModel):
    total: int


class ThingBody(BaseModel):
    name: str = Field(min_length=1, max_length=20)
    count: int = Field(1, ge=1)


@TEST.route("/test/echo", params=EchoParams, response=list[EchoRow], meta=EchoMeta, summary="Echo")
async def echo(ctx: ApiContext, params: EchoParams) -> Envelope[list[EchoRow]]:
    """Echoes the parsed params."""
    row = EchoRow(
        tenant=ctx.tenant.slug, limit=params.limit, start=params.from_, order=params.order, tags=params.tags
    )
    return Envelope([row], EchoMeta(total=1))


class ItemParams(BaseModel):
    item: str = Field(max_length=10)


@TEST.route("/test/items/{item}", params=ItemParams, response=dict[str, str], summary="One item")
async def item(ctx: ApiContext, params: ItemParams) -> dict[str, str]:
    if params.item == "missing":
        raise QueryError("item", "not found")
    return {"item": params.item}


@TEST.route("/test/admin", scope="admin", response=dict[str, str], summary="Admin only")
async def admin_only(ctx: ApiContext) -> dict[str, str]:
    return {"ok": "yes"}


@TEST.route("/test/boom", response=int, summary="Always fails")
async def boom(ctx: ApiContext) -> int:
    raise RuntimeError("secret detail 1234")


@TEST.route("/test/raw", summary="Plain text", content={"text/plain": {"schema": {"type": "string"}}})
async def raw(ctx: ApiContext) -> PlainTextResponse:
    return PlainTextResponse("hello")


@TEST.route(
    "/test/things", method="POST", params=ThingBody, response=ThingBody, status_code=201, summary="Make"
)
async def make_thing(ctx: ApiContext, params: ThingBody) -> ThingBody:
    return params


TEST_API = ApiRegistry(TEST)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"rate_limit": f"{LIMIT}/minute"})


@pytest.fixture(autouse=True)
def _test_routes(app: Starlette) -> None:
    app.router.routes.extend(starlette_routes(TEST_API))


def make_token(app: Starlette, scopes: tuple[str, ...] = ("read",), slug: str = "acme") -> str:
    with app.state.services.db.sync.begin() as conn:
        if get_tenant(conn, slug) is None:
            create_tenant(conn, slug)
        return create_token(conn, slug, scopes=scopes)[1]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error_shape(response: httpx2.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert isinstance(body["message"], str) and body["message"]
    assert set(body) <= {"message", "code", "errors"}
    assert body["code"] == {401: "unauthorized", 404: "not_found", 422: "validation_failed"}.get(
        status, body["code"]
    )
    assert ("errors" in body) == (status == 422)
    return body


# -- authentication and scopes -------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer amcp_unknown"},
        {"Authorization": "Basic eDp5"},
    ],
    ids=["none", "empty", "unknown", "basic"],
)
async def test_missing_or_bad_token_is_401_with_challenge(client: httpx2.AsyncClient, headers: dict) -> None:
    response = await client.get("/api/v1/test/echo", headers=headers)
    assert_error_shape(response, 401)
    assert response.headers["www-authenticate"] == 'Bearer realm="analytics", error="invalid_token"'
    assert "x-ratelimit-limit" not in response.headers


async def test_revoked_token_is_401(app: Starlette, client: httpx2.AsyncClient) -> None:
    token = make_token(app)
    assert (await client.get("/api/v1/test/echo", headers=auth(token))).status_code == 200
    with app.state.services.db.sync.begin() as conn:
        token_id = next(t.id for t in _tokens(conn))
        revoke_token(conn, token_id)
    response = await client.get("/api/v1/test/echo", headers=auth(token))
    assert_error_shape(response, 401)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def _tokens(conn: Any) -> list[Any]:
    from analytics_mcp.storage.accounts import list_tokens

    return list_tokens(conn, "acme")


async def test_missing_scope_is_403(app: Starlette, client: httpx2.AsyncClient) -> None:
    response = await client.get("/api/v1/test/admin", headers=auth(make_token(app, ("read",))))
    body = assert_error_shape(response, 403)
    assert "admin" in body["message"]
    assert response.headers["x-ratelimit-remaining"] == str(LIMIT - 1)
    ingest_only = make_token(app, ("ingest",))
    assert (await client.get("/api/v1/test/echo", headers=auth(ingest_only))).status_code == 403


async def test_admin_scope_implies_read(app: Starlette, client: httpx2.AsyncClient) -> None:
    token = make_token(app, ("admin",))
    assert (await client.get("/api/v1/test/echo", headers=auth(token))).status_code == 200
    assert (await client.get("/api/v1/test/admin", headers=auth(token))).json() == {"data": {"ok": "yes"}}


# -- params and envelope -------------------------------------------------------------------------


async def test_params_parse_into_the_envelope(app: Starlette, client: httpx2.AsyncClient) -> None:
    query = "limit=7&from=2026-02-01&order=asc&tags=a&tags=b&unknown=ignored"
    response = await client.get(f"/api/v1/test/echo?{query}", headers=auth(make_token(app)))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    row = {"tenant": "acme", "limit": 7, "start": "2026-02-01", "order": "asc", "tags": ["a", "b"]}
    assert response.json() == {"data": [row], "meta": {"total": 1}}


@pytest.mark.parametrize(
    ("query", "field", "rule"),
    [
        ("limit=abc", "limit", "Input should be a valid integer"),
        ("limit=101", "limit", "Input should be less than or equal to 100"),
        ("limit=0", "limit", "Input should be greater than or equal to 1"),
        ("order=sideways", "order", "Input should be 'asc' or 'desc'"),
        ("from=2026-13-01", "from", "Input should be a valid date"),
    ],
)
async def test_bad_params_are_422_naming_the_field(
    app: Starlette, client: httpx2.AsyncClient, query: str, field: str, rule: str
) -> None:
    response = await client.get(f"/api/v1/test/echo?{query}", headers=auth(make_token(app)))
    body = assert_error_shape(response, 422)
    assert body["message"].startswith(f"{field}: {rule}")
    assert list(body["errors"]) == [field]
    assert body["errors"][field][0].startswith(rule)
    assert "x-ratelimit-remaining" in response.headers


async def test_path_params_and_engine_query_errors(app: Starlette, client: httpx2.AsyncClient) -> None:
    headers = auth(make_token(app))
    assert (await client.get("/api/v1/test/items/abc", headers=headers)).json() == {"data": {"item": "abc"}}
    body = assert_error_shape(await client.get("/api/v1/test/items/missing", headers=headers), 404)
    assert body == {
        "message": "Item not found.",
        "code": "not_found",
    }  # a missing resource is a 404, not a bad param
    too_long = await client.get("/api/v1/test/items/abcdefghijklm", headers=headers)
    assert list(assert_error_shape(too_long, 422)["errors"]) == ["item"]


async def test_json_body_routes(app: Starlette, client: httpx2.AsyncClient) -> None:
    headers = auth(make_token(app))
    created = await client.post("/api/v1/test/things", json={"name": "x", "count": 2}, headers=headers)
    assert created.status_code == 201 and created.json() == {"data": {"name": "x", "count": 2}}
    bad = await client.post("/api/v1/test/things", json={"name": ""}, headers=headers)
    assert list(assert_error_shape(bad, 422)["errors"]) == ["name"]
    garbled = await client.post("/api/v1/test/things", content=b"{nope", headers=headers)
    assert_error_shape(garbled, 400)


async def test_handlers_may_return_their_own_response(app: Starlette, client: httpx2.AsyncClient) -> None:
    response = await client.get("/api/v1/test/raw", headers=auth(make_token(app)))
    assert response.status_code == 200 and response.text == "hello"
    assert response.headers["x-ratelimit-limit"] == str(LIMIT)


# -- rate limit ----------------------------------------------------------------------------------


async def test_rate_limit_headers_then_429(app: Starlette, client: httpx2.AsyncClient) -> None:
    headers = auth(make_token(app))
    for expected in range(LIMIT - 1, -1, -1):
        response = await client.get("/api/v1/test/echo", headers=headers)
        assert response.status_code == 200
        assert response.headers["x-ratelimit-limit"] == str(LIMIT)
        assert response.headers["x-ratelimit-remaining"] == str(expected)
        assert time.time() - 1 <= int(response.headers["x-ratelimit-reset"]) <= time.time() + 61
    limited = await client.get("/api/v1/test/echo", headers=headers)
    body = assert_error_shape(limited, 429)
    assert "Retry" in body["message"]
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.headers["x-ratelimit-remaining"] == "0"
    other = await client.get("/api/v1/test/echo", headers=auth(make_token(app)))
    assert other.status_code == 200, "the limit is per token"


# -- errors outside handlers ---------------------------------------------------------------------


async def test_unknown_path_and_wrong_method_are_json(client: httpx2.AsyncClient) -> None:
    assert_error_shape(await client.get("/api/v1/no/such/route"), 404)
    wrong = await client.delete("/api/v1/test/echo")
    assert_error_shape(wrong, 405)
    assert "GET" in wrong.headers["allow"]


async def test_unexpected_error_is_a_logged_generic_500(
    app: Starlette, client: httpx2.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="analytics_mcp.http"):
        response = await client.get("/api/v1/test/boom", headers=auth(make_token(app)))
    assert assert_error_shape(response, 500) == {
        "message": "Internal server error.",
        "code": "internal_error",
    }
    assert "secret detail" not in response.text and "Traceback" not in response.text
    assert "x-ratelimit-remaining" in response.headers
    logged = [r for r in caplog.records if r.exc_info and "secret detail 1234" in str(r.exc_info[1])]
    assert logged, "the traceback goes to the log"


# -- OpenAPI -------------------------------------------------------------------------------------


def _schema_validator(doc: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    # Refs are "#/components/schemas/...": give the schema the document's components as its root.
    return Draft202012Validator({**schema, "components": doc["components"]})


def test_openapi_lists_every_route_with_its_params() -> None:
    doc = openapi_document(TEST_API)
    assert doc["openapi"].startswith("3.1")
    for spec in TEST_API.specs:
        assert spec.method.lower() in doc["paths"][spec.path]
    params = {p["name"]: p for p in doc["paths"]["/test/echo"]["get"]["parameters"]}
    assert set(params) == {"limit", "from", "order", "tags"}
    assert params["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}
    assert params["limit"]["description"] == "Max rows." and params["limit"]["in"] == "query"
    assert params["order"]["schema"]["enum"] == ["asc", "desc"]
    assert params["tags"]["explode"] is True
    item_params = doc["paths"]["/test/items/{item}"]["get"]["parameters"]
    assert item_params[0]["in"] == "path" and item_params[0]["required"] is True
    assert "requestBody" in doc["paths"]["/test/things"]["post"]
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


async def test_documented_schemas_validate_real_responses(app: Starlette, client: httpx2.AsyncClient) -> None:
    doc = openapi_document(TEST_API)
    get = doc["paths"]["/test/echo"]["get"]
    headers = auth(make_token(app))
    ok = await client.get("/api/v1/test/echo?tags=x", headers=headers)
    _schema_validator(doc, get["responses"]["200"]["content"]["application/json"]["schema"]).validate(
        ok.json()
    )
    bad = await client.get("/api/v1/test/echo?limit=-1", headers=headers)
    ref = doc["components"]["responses"]["ValidationError"]["content"]["application/json"]["schema"]
    assert get["responses"]["422"] == {"$ref": "#/components/responses/ValidationError"}
    _schema_validator(doc, ref).validate(bad.json())


def test_a_table_holds_only_its_own_routes_and_a_registry_refuses_clashes() -> None:
    one, other = RouteTable(), RouteTable("/elsewhere")
    one.route("/a", summary="A")(boom)
    assert [spec.full_path for spec in one] == ["/api/v1/a"] and list(other) == []
    other.route("/a", summary="A")(boom)
    assert [spec.full_path for spec in other] == ["/elsewhere/a"]
    with pytest.raises(ValueError, match="not under"):
        ApiRegistry([*one, *other])
    with pytest.raises(ValueError, match="duplicate API route"):
        ApiRegistry([*one, *one])
    renamed = RouteTable()
    renamed.route("/b", summary="B", operation_id="boom")(boom)
    with pytest.raises(ValueError, match="duplicate operation id"):
        ApiRegistry([*one, *renamed])
    with pytest.raises(ValueError, match="duplicate API"):
        ApiRegistry([*one, PublicRoute("/a", raw, {"GET": {}})])


async def test_test_routes_stay_out_of_the_real_document(client: httpx2.AsyncClient) -> None:
    response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert not any(path.startswith("/test/") for path in response.json()["paths"])


# -- health --------------------------------------------------------------------------------------


async def test_health(client: httpx2.AsyncClient) -> None:
    response = await client.get("/api/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_health_is_503_when_the_database_is_down(
    client: httpx2.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable(_services: object) -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(health, "_ping", unreachable)
    assert_error_shape(await client.get("/api/health"), 503)


async def test_rate_limiter_storage_from_url_and_fails_open(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = RateLimiter("2/minute", "memory://")
    states = [await limiter.hit("t1") for _ in range(3)]
    assert [s.allowed for s in states if s] == [True, True, False]
    assert [s.remaining for s in states if s] == [1, 0, 0]

    async def broken(*_args: object) -> bool:
        raise ConnectionError("redis is down")

    monkeypatch.setattr(limiter.strategy, "hit", broken)
    with caplog.at_level(logging.ERROR, logger="analytics_mcp.http"):
        assert await limiter.hit("t1") is None  # allowed, without headers
    assert "rate limit storage failed" in caplog.text
