"""One error type, one JSON shape: {"message": "...", "code": "...", "errors": {"field": ["..."]}}
(errors on 422 only). `message` is for people; `code` is for programs: a stable snake_case name,
by default the status's (`not_found`, `validation_failed`, `rate_limited`, ...), or a more precise
one an error names (`credits_exhausted`).

Every failure a client can see goes through `ApiError`; unexpected exceptions become a plain 500
with the same shape and no traceback.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from http import HTTPStatus

import anyio
import orjson
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from analytics_mcp.field_error import validation_messages

log = logging.getLogger("analytics_mcp.http")
LINGER_BYTES = 1024 * 1024  # after a 413: what may still be read (and dropped) while the client stops
LINGER_S = 1.0

_DEFAULT_MESSAGES = {
    400: "Bad request.",
    401: "Missing or invalid API token.",
    403: "Insufficient permissions.",
    404: "Resource not found.",
    405: "Method not allowed.",
    413: "Request body too large.",
    415: "Unsupported media type.",
    422: "The given data was invalid.",
    429: "Too many requests.",
    500: "Internal server error.",
    503: "Service temporarily unavailable.",
}
# The `code` of each status; another status gets its HTTP reason phrase in snake_case.
CODES_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}

# Codes more precise than their status's, with that status: what a client may act on.
INSUFFICIENT_SCOPE = "insufficient_scope"  # 403: the token lacks a scope the route needs
PLAN_REQUIRED = "plan_required"  # 403: the tenant's plan does not include the feature
CREDITS_EXHAUSTED = "credits_exhausted"  # 429: the month's AI credits are used up
PRECISE_CODES = {INSUFFICIENT_SCOPE: 403, PLAN_REQUIRED: 403, CREDITS_EXHAUSTED: 429}


def default_code(status: int) -> str:
    """The default `code` of an error with this HTTP status."""
    if status in CODES_BY_STATUS:
        return CODES_BY_STATUS[status]
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return "error"
    return "_".join(re.findall(r"[a-z0-9]+", phrase.lower()))


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str | None = None,
        errors: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
        code: str | None = None,
    ) -> None:
        self.status = status
        self.message = message or _DEFAULT_MESSAGES.get(status, "Error.")
        self.code = code or default_code(status)
        self.errors = dict(errors) if errors else None
        self.headers = dict(headers or {})
        super().__init__(self.message)

    @classmethod
    def invalid(cls, field: str, rule: str) -> ApiError:
        """A 422 naming one field and the rule it broke."""
        return cls(422, f"{field}: {rule}", {field: [rule]})


def field_errors(exc: ValidationError, prefix: str = "", root: str = "body") -> dict[str, list[str]]:
    """Pydantic errors as {"dotted.field": ["message", ...]}, each field named as the client sent
    it (no pydantic type tags); model-level errors go under `root`."""
    out: dict[str, list[str]] = {}
    for field, message in validation_messages(exc, root):
        out.setdefault(prefix + field, []).append(message)
    return out


def from_validation(exc: ValidationError, prefix: str = "", root: str = "body") -> ApiError:
    errors = field_errors(exc, prefix, root)
    first_field, first_msgs = next(iter(errors.items()))
    return ApiError(422, f"{first_field}: {first_msgs[0]}", errors)


def error_response(error: ApiError) -> Response:
    body: dict[str, object] = {"message": error.message, "code": error.code}
    if error.errors:
        body["errors"] = error.errors
    response_type = LingeringResponse if error.status == 413 else Response
    return response_type(
        orjson.dumps(body), status_code=error.status, headers=error.headers, media_type="application/json"
    )


class LingeringResponse(Response):
    """For a 413 answered while the client is still sending: the answer goes out whole, then what
    keeps coming is read and dropped (at most LINGER_BYTES, for at most LINGER_S) before the
    response ends. Closed with input unread, the connection would be reset, and a reset can
    destroy the 413 before the client reads it."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": True})
        with anyio.move_on_after(LINGER_S):
            dropped = 0
            while dropped < LINGER_BYTES:
                message = await receive()
                if message["type"] != "http.request" or not message.get("more_body", False):
                    break
                dropped += len(message.get("body", b""))
        await send({"type": "http.response.body", "body": b""})


async def handle_api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def handle_http_exception(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = exc.detail if exc.detail and exc.status_code not in _DEFAULT_MESSAGES else None
    return error_response(ApiError(exc.status_code, message, headers=exc.headers))


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(ApiError(500))


EXCEPTION_HANDLERS = {
    ApiError: handle_api_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
