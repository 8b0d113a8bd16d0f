"""The real /api/v1/openapi.json matches the real routes (every route module's table, as
http_api.routes composes them), and every documented response shape validates what the route
really answers on an empty database."""

from __future__ import annotations

import re
from typing import Any

import httpx2
import pytest
from jsonschema import Draft202012Validator
from starlette.applications import Starlette
from starlette.routing import Route

from analytics_mcp.config import Settings
from analytics_mcp.http_api.framework import API_PREFIX, ApiRoute
from analytics_mcp.http_api.routes import API_V1
from analytics_mcp.storage.accounts import create_tenant, create_token

UNDOCUMENTED = {f"{API_PREFIX}/openapi.json"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"rate_limit": "10000/minute"})


@pytest.fixture
async def document(client: httpx2.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    return response.json()


def _doc_path(path: str) -> str:
    return re.sub(r"{([^}:]+)(?::[^}]+)?}", r"{\1}", path)


def _sent_names(parameter: dict[str, Any]) -> list[str]:
    """The query names a parameter is sent as: an exploded object's properties, else its name."""
    if parameter.get("explode") and parameter.get("schema", {}).get("type") == "object":
        return list(parameter["schema"]["properties"])
    return [parameter["name"]]


def test_registry_holds_the_api_routes() -> None:
    assert len(API_V1.specs) > 20
    assert all(spec.full_path.startswith(API_PREFIX + "/") for spec in API_V1.specs)


async def test_every_registered_route_is_documented(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": API_PREFIX}]
    for spec in API_V1.specs:
        operation = document["paths"][_doc_path(spec.path)][spec.method.lower()]
        assert operation["operationId"] == spec.operation_id
        assert operation["summary"]
        documented = {name for p in operation["parameters"] for name in _sent_names(p)}
        if spec.params is not None and not spec.body_params:
            fields = spec.params.model_json_schema(mode="validation").get("properties", {})
            assert documented == set(fields), spec.path


async def test_every_api_route_in_the_app_is_documented(app: Starlette, document: dict[str, Any]) -> None:
    """Also routes added without the framework: the document must match the app."""
    for route in app.routes:
        if not isinstance(route, Route) or not route.path.startswith(API_PREFIX + "/"):
            continue
        if route.path in UNDOCUMENTED:
            continue
        item = document["paths"].get(_doc_path(route.path.removeprefix(API_PREFIX)))
        assert item is not None, f"{route.path} is not in openapi.json"
        for method in route.methods or ():
            assert method == "HEAD" or method.lower() in item, f"{method} {route.path} is not documented"


async def test_documented_schemas_are_valid(document: dict[str, Any]) -> None:
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    for ref in _refs(document):
        _, _, section, name = ref.split("/", 3)
        assert name in document["components"][section], f"dangling $ref {ref}"


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def _token(app: Starlette) -> str:
    with app.state.services.db.sync.begin() as conn:
        create_tenant(conn, "openapi-check")
        return create_token(conn, "openapi-check", scopes=("read", "ingest", "admin"))[1]


def _response_schema(document: dict[str, Any], spec: ApiRoute, status: int) -> dict[str, Any] | None:
    responses = document["paths"][_doc_path(spec.path)][spec.method.lower()]["responses"]
    entry = responses.get(str(status))
    assert entry is not None, f"{spec.method} {spec.path} answered an undocumented {status}"
    if "$ref" in entry:
        entry = document["components"]["responses"][entry["$ref"].rsplit("/", 1)[1]]
    return entry.get("content", {}).get("application/json", {}).get("schema")


async def test_real_responses_match_their_documented_shape(
    app: Starlette, client: httpx2.AsyncClient, document: dict[str, Any]
) -> None:
    headers = {"Authorization": f"Bearer {_token(app)}"}
    for spec in API_V1.specs:
        if spec.method != "GET":
            continue
        path = re.sub(r"{[^}]+}", "nonexistent", spec.full_path)
        response = await client.get(path, headers=headers)
        schema = _response_schema(document, spec, response.status_code)
        if schema is None or not response.headers.get("content-type", "").startswith("application/json"):
            continue
        validator = Draft202012Validator({**schema, "components": document["components"]})
        errors = [e.message for e in validator.iter_errors(response.json())]
        assert not errors, f"GET {path} ({response.status_code}): {errors[:3]}"
