"""The OpenAPI operations of the public A/B endpoints (`metrics_track`), written by hand since they
are not framework routes, with every rule `experiments.tracking` enforces: one body shape per
event type (its required `event_data` fields), lengths, ranges, non-blank strings, no NUL."""

from __future__ import annotations

from typing import Any

from analytics_mcp.experiments.tracking import (
    EVENT_TYPES,
    FIELDS,
    MAX_AMOUNT_CENTS,
    MAX_BODY_BYTES,
    MAX_ID,
    MAX_VARIANT_ID,
)
from analytics_mcp.http_api.params import BLANK, NO_NUL_PATTERN, NON_BLANK_PATTERN

Json = dict[str, Any]


def _schema(required: list[str], properties: Json) -> Json:
    return {"type": "object", "required": required, "properties": properties}


def _text(limit: int, pattern: str = NON_BLANK_PATTERN) -> Json:
    return {"type": "string", "maxLength": limit, "pattern": pattern}


# event_data fields, by name (a name means the same in every event type of tracking.FIELDS)
DATA_FIELDS: dict[str, Json] = {
    "path": _text(2000, f"^{BLANK}*/[^\\u0000]*$"),
    "referrer": _text(2000),
    "depth": {"type": "number", "minimum": 0, "maximum": 100},
    "element_id": _text(200),
    "element_text": _text(500),
    "form_id": _text(200),
    "plan_tier": _text(100),
    "amount_cents": {"type": "integer", "minimum": 0, "maximum": MAX_AMOUNT_CENTS},
    "billing_interval": _text(100),
    "stripe_session_id": _text(255),
    "currency": {"type": "string", "pattern": "^[A-Za-z]{3}$"},
    "app_key": _text(200),
    "platform": _text(100),
}


def _track_body(event_type: str) -> Json:
    required, optional = FIELDS[event_type]
    fields = {name: DATA_FIELDS[name] for name in required}
    fields |= {name: {"anyOf": [DATA_FIELDS[name], {"type": "null"}]} for name in optional}
    data = _schema(list(required), fields)
    data["description"] = "Other keys are accepted and dropped."
    return _schema(
        ["variant_id", "event_type", "event_data", "session_id", "visitor_id"],
        {
            "variant_id": {"type": "integer", "minimum": 1, "maximum": MAX_VARIANT_ID},
            "event_type": {"const": event_type},
            "event_data": data,
            "session_id": _text(MAX_ID),
            "visitor_id": _text(MAX_ID),
        },
    )


TRACK_BODY: Json = {
    "description": f"One event, a JSON object of at most {MAX_BODY_BYTES} bytes; event_data "
    "depends on event_type (stripe_session_id: once per checkout).",
    "oneOf": [_track_body(event_type) for event_type in EVENT_TYPES],
}
_ERROR_SCHEMA = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def _error(description: str) -> Json:
    return {"description": description, "content": _ERROR_SCHEMA}


_PREFLIGHT = {"summary": "CORS preflight", "security": [], "responses": {"204": {"description": "Allowed"}}}
_TRACKED = _schema(["success", "message"], {"success": {"type": "boolean"}, "message": {"type": "string"}})
TRACK_OPERATIONS: dict[str, Json] = {
    "POST": {
        "operationId": "metrics_track",
        "summary": "Track an A/B event (public, idempotent)",
        "tags": ["metrics"],
        "security": [],
        "requestBody": {"required": True, "content": {"application/json": {"schema": TRACK_BODY}}},
        "responses": {
            "201": {
                "description": "Stored (or already stored: retries are safe)",
                "content": {"application/json": {"schema": _TRACKED}},
            },
            "202": {
                "description": "Not counted (bot or non-browser client)",
                "content": {"application/json": {"schema": _TRACKED}},
            },
            "400": _error("Not JSON, a missing field, an unknown event type or a value out of range"),
            "404": _error("No such variant"),
            "409": _error("The variant's experiment is not running"),
            "413": _error(f"Body over {MAX_BODY_BYTES} bytes"),
            "422": _error("A value of the wrong JSON type, or with a NUL character"),
            "503": _error("Not stored (storage unavailable); retry after Retry-After seconds"),
        },
    },
    "OPTIONS": {**_PREFLIGHT, "operationId": "metrics_track_preflight"},
}
_VARIANTS = {
    "type": "array",
    "items": _schema(
        ["id", "slug", "weight"],
        {"id": {"type": "integer"}, "slug": {"type": "string"}, "weight": {"type": "integer"}},
    ),
}
_QUERY_TEXT = {"type": "string", "minLength": 1, "pattern": NO_NUL_PATTERN}
CONFIG_OPERATIONS: dict[str, Json] = {
    "GET": {
        "operationId": "metrics_experiment",
        "summary": "The running experiment of a site (for /js/metrics.js)",
        "tags": ["metrics"],
        "security": [],
        "parameters": [
            {"name": "site", "in": "query", "required": True, "schema": {**_QUERY_TEXT, "maxLength": 253}},
            {"name": "experiment", "in": "query", "required": False, "schema": _QUERY_TEXT},
        ],
        "responses": {
            "200": {
                "description": "Variants with their ids and weights",
                "content": {
                    "application/json": {
                        "schema": _schema(
                            ["status", "variants"], {"status": {"const": "running"}, "variants": _VARIANTS}
                        )
                    }
                },
            },
            "400": _error("site missing, or a value with a NUL character"),
            "404": _error("No running experiment on this site"),
        },
    },
    "OPTIONS": {**_PREFLIGHT, "operationId": "metrics_experiment_preflight"},
}
