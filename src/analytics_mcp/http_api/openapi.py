"""The OpenAPI 3.1 document of /api/v1, generated from the same registry and pydantic models
the routes use, so it cannot drift from them. Served (public) at /api/v1/openapi.json.

Every rule a request must follow is in it, so a request the document allows is never refused:
input strings carry no NUL, parameters that need each other (`from` and `to`) are one exploded
object parameter with `dependentRequired`, and what JSON Schema cannot say between two parameters
(a date range's order and length) is the operation's `x-date-range`."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from http import HTTPStatus
from typing import Any

import orjson
from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from analytics_mcp import __version__
from analytics_mcp.http_api.csv_report import CSV_CONTENT
from analytics_mcp.http_api.errors import CODES_BY_STATUS, PRECISE_CODES
from analytics_mcp.http_api.framework import PATH_PARAM, ApiRegistry, ApiRoute
from analytics_mcp.http_api.params import NO_NUL_PATTERN

REF = "#/components/schemas/{model}"
GROUP = "range"  # the name of the object parameter of `from` and `to` (never sent: exploded)
_RESPONSE_NAMES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    413: "PayloadTooLarge",
    422: "ValidationError",
    429: "TooManyRequests",
    500: "ServerError",
}
_RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
ERROR_CODES = ", ".join(
    [f"{code} ({status})" for status, code in CODES_BY_STATUS.items()]
    + [f"{code} ({status})" for code, status in PRECISE_CODES.items()]
)
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["message", "code"],
    "properties": {
        "message": {"type": "string"},
        "code": {
            "type": "string",
            "description": "Machine-readable: the status's code, or a more precise one. "
            f"Codes: {ERROR_CODES}; another status: its reason phrase in snake_case.",
        },
        "errors": {
            "type": "object",
            "description": "Field name -> messages; only on 422.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
}
_HEADERS: dict[str, Any] = {
    "X-RateLimit-Limit": ("integer", "Requests allowed per window for this token."),
    "X-RateLimit-Remaining": ("integer", "Requests left in the current window."),
    "X-RateLimit-Reset": ("integer", "Epoch seconds when the oldest counted request leaves the window."),
    "Retry-After": ("integer", "Seconds to wait before retrying."),
    "WWW-Authenticate": ("string", 'Bearer challenge, e.g. Bearer realm="analytics", error="invalid_token".'),
}


def _header_refs(*names: str) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def _error_response(status: int) -> dict[str, Any]:
    headers = ("WWW-Authenticate",) if status == 401 else _RATE_HEADERS
    if status == 429:
        headers = (*headers, "Retry-After")
    return {
        "description": HTTPStatus(status).phrase,
        "headers": _header_refs(*headers),
        "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
    }


class _InputStrings(GenerateJsonSchema):
    """Input strings (validation mode) say they take no NUL, as the pipeline enforces."""

    def str_schema(self, schema: core_schema.StringSchema) -> JsonSchemaValue:
        json_schema = super().str_schema(schema)
        if self.mode == "validation":
            json_schema.setdefault("pattern", NO_NUL_PATTERN)
        return json_schema


def _schemas(specs: Sequence[ApiRoute]) -> tuple[dict[tuple[str, str], Any], dict[str, Any]]:
    """Every params/data/meta schema at once, so shared models become one component each."""
    inputs: list[tuple[tuple[str, str], Any, TypeAdapter[Any]]] = []
    for spec in specs:
        if spec.params is not None:
            inputs.append(((spec.operation_id, "params"), "validation", TypeAdapter(spec.params)))
        if spec.data_adapter is not None:
            inputs.append(((spec.operation_id, "data"), "serialization", spec.data_adapter))
        if spec.meta_adapter is not None:
            inputs.append(((spec.operation_id, "meta"), "serialization", spec.meta_adapter))
    if not inputs:
        return {}, {}
    mapping, top = TypeAdapter.json_schemas(inputs, ref_template=REF, schema_generator=_InputStrings)
    return {key: schema for (key, _mode), schema in mapping.items()}, top.get("$defs", {})


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return defs[ref.rsplit("/", 1)[1]] if ref else schema


def _bare(prop: dict[str, Any]) -> dict[str, Any]:
    """A parameter's schema: no title or description (the parameter has them), and never null
    (a query parameter is a string or absent; `?from=null` is the string "null")."""
    schema = {key: value for key, value in prop.items() if key not in ("title", "description")}
    branches = [branch for branch in schema.get("anyOf", ()) if branch != {"type": "null"}]
    if len(branches) == 1:
        del schema["anyOf"]
        schema = {**branches[0], **schema}
    if "default" in schema and schema["default"] is None:
        del schema["default"]
    return schema


def _parameter(spec: ApiRoute, name: str, prop: dict[str, Any], required: bool) -> dict[str, Any]:
    schema = _bare(prop)
    location = "path" if name in spec.path_params else "query"
    param: dict[str, Any] = {"name": name, "in": location, "required": required or location == "path"}
    if prop.get("description"):
        param["description"] = prop["description"]
    if "contentSchema" in schema:  # a value that is a JSON document: its schema, as `content`
        param["content"] = {schema["contentMediaType"]: {"schema": schema["contentSchema"]}}
    else:
        param["schema"] = schema
    if name in spec.array_params:
        param.update(style="form", explode=True)
    return param


def _group(params_schema: dict[str, Any]) -> dict[str, Any]:
    """Query parameters that need each other as one object parameter: exploded, so they are
    still sent as `from=...&to=...`, and its `dependentRequired` states the rule."""
    depends: dict[str, list[str]] = params_schema["dependentRequired"]
    props = params_schema["properties"]
    names = [name for name in props if name in depends or any(name in v for v in depends.values())]
    descriptions = "; ".join(f"{name}: {props[name].get('description', '')}" for name in names)
    return {
        "name": GROUP,
        "in": "query",
        "required": False,
        "description": f"{' and '.join(names)}, each needing the other. {descriptions}",
        "style": "form",
        "explode": True,
        "schema": {
            "type": "object",
            "properties": {name: _bare(props[name]) for name in names},
            "dependentRequired": depends,
        },
    }


def _parameters(spec: ApiRoute, params_schema: dict[str, Any] | None) -> list[dict[str, Any]]:
    props = (params_schema or {}).get("properties", {})
    required = set((params_schema or {}).get("required", ()))
    names = props if not spec.body_params else [name for name in props if name in spec.path_params]
    group = _group(params_schema) if params_schema and "dependentRequired" in params_schema else None
    grouped = set(group["schema"]["properties"]) if group else set()
    out = [_parameter(spec, name, props[name], name in required) for name in names if name not in grouped]
    if group and not spec.body_params:
        out.append(group)
    for name in sorted(spec.path_params - set(props)):
        out.append({"name": name, "in": "path", "required": True, "schema": {"type": "string"}})
    return out


def _success(spec: ApiRoute, schemas: dict[tuple[str, str], Any]) -> dict[str, Any]:
    if spec.data_adapter is None:
        content = dict(spec.content or {"application/octet-stream": {"schema": {"type": "string"}}})
    elif not spec.envelope:
        content = {"application/json": {"schema": schemas[(spec.operation_id, "data")]}}
    else:
        props = {"data": schemas[(spec.operation_id, "data")]}
        if spec.meta_adapter is not None:
            props["meta"] = schemas[(spec.operation_id, "meta")]
        envelope = {"type": "object", "required": list(props), "properties": props}
        content = {"application/json": {"schema": envelope}}
    if spec.data_adapter is not None and "format" in (spec.params.model_fields if spec.params else ()):
        content.update(CSV_CONTENT)  # format=csv: the same rows as CSV (pipeline.as_csv)
    return {"description": spec.summary, "headers": _header_refs(*_RATE_HEADERS), "content": content}


def _error_statuses(spec: ApiRoute) -> list[int]:
    statuses = {401, 403, 429, 500, *spec.errors}
    if spec.params is not None:
        statuses.add(422)
    if spec.path_params or "site" in (spec.params.model_fields if spec.params else ()):
        statuses.add(404)  # a resource (or site) the caller cannot see is one that does not exist
    if spec.body_params:
        statuses.update((400, 413))
    return sorted(statuses)


def _operation(spec: ApiRoute, schemas: dict[tuple[str, str], Any], defs: dict[str, Any]) -> dict[str, Any]:
    params_ref = schemas.get((spec.operation_id, "params"))
    params_schema = _resolve(params_ref, defs) if params_ref else None
    op: dict[str, Any] = {"operationId": spec.operation_id, "summary": spec.summary, "tags": list(spec.tags)}
    if spec.description:
        op["description"] = spec.description
    op["parameters"] = _parameters(spec, params_schema)
    if spec.body_params and params_ref:
        op["requestBody"] = {
            "required": True,
            "description": f"A JSON object of at most {spec.max_body} bytes.",
            "content": {"application/json": {"schema": params_ref}},
        }
    # The rules between values JSON Schema cannot state (x-date-range, x-breakdown, ...).
    op.update({key: value for key, value in (params_schema or {}).items() if key.startswith("x-")})
    responses: dict[str, Any] = {str(spec.status_code): _success(spec, schemas)}
    for status in _error_statuses(spec):
        name = _RESPONSE_NAMES.get(status)
        responses[str(status)] = (
            {"$ref": f"#/components/responses/{name}"} if name else _error_response(status)
        )
    op["responses"] = responses
    op["security"] = [{"bearerAuth": []}]
    op["x-required-scope"] = spec.scope
    return op


def _components(defs: dict[str, Any]) -> dict[str, Any]:
    if "Error" in defs:
        raise ValueError("a response model is named 'Error', which the OpenAPI error schema uses")
    return {
        "schemas": {**defs, "Error": ERROR_SCHEMA},
        "responses": {name: _error_response(status) for status, name in _RESPONSE_NAMES.items()},
        "headers": {
            name: {"description": text, "schema": {"type": kind}} for name, (kind, text) in _HEADERS.items()
        },
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
    }


def openapi_document(registry: ApiRegistry) -> dict[str, Any]:
    specs = registry.specs
    schemas, defs = _schemas(specs)
    paths: dict[str, dict[str, Any]] = {}
    for spec in specs:
        path = PATH_PARAM.sub(r"{\1}", spec.path)  # OpenAPI has no Starlette convertors
        paths.setdefault(path, {})[spec.method.lower()] = _operation(spec, schemas, defs)
    for public in registry.public:
        item = paths.setdefault(public.path, {})
        item.update({method.lower(): dict(op) for method, op in public.operations.items()})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "analytics-mcp REST API",
            "version": __version__,
            "description": "Stats, e-commerce, goals and export; bearer token, rate limited per token.",
        },
        "servers": [{"url": registry.prefix}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": _components(defs),
    }


def openapi_route(registry: ApiRegistry) -> Route:
    @cache
    def rendered() -> bytes:  # the registry never changes: rendered on the first request, once
        return orjson.dumps(openapi_document(registry))

    async def openapi_json(_request: Request) -> Response:
        return Response(rendered(), media_type="application/json")

    return Route(f"{registry.prefix}/openapi.json", openapi_json, methods=["GET"], name="openapi")
