"""`POST /api/auth/token`: a dashboard user's email and password for a short-lived JWT that reads
the platform analytics endpoints (/api/analytics/) of the user's tenant (platform/jwt_auth.py).

Throttled like the dashboard's sign-in form, with the same counts (http_api/sign_in.py): 429 with
Retry-After before any password is checked. Wrong credentials: 401, the same answer for an
unknown email and a wrong password.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from analytics_mcp.http_api.auth import app_secret
from analytics_mcp.http_api.errors import ApiError, error_response, from_validation
from analytics_mcp.http_api.sign_in import check_password, sign_in_state
from analytics_mcp.http_api.tracker import client_ip, read_body
from analytics_mcp.platform import jwt_auth
from analytics_mcp.services import Services

PATH = "/api/auth/token"
MAX_BODY = 16 * 1024


class TokenRequest(BaseModel):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class TokenAnswer(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int = Field(description="Seconds until the token expires")


async def _credentials(request: Request) -> TokenRequest:
    raw = await read_body(request, MAX_BODY)
    try:
        body: Any = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError:
        raise ApiError(400, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError.invalid("body", "Input should be a JSON object")
    try:
        return TokenRequest.model_validate(body)
    except ValidationError as exc:
        raise from_validation(exc) from None


async def _issue(request: Request) -> Response:
    services: Services = request.app.state.services
    creds = await _credentials(request)
    throttle = sign_in_state(request.app).throttle
    ip = client_ip(request, services.settings)
    wait = await throttle.reserve(creds.email, ip)  # counted before argon2 runs
    if wait is not None:
        message = f"Too many sign-in attempts. Retry in {wait} seconds."
        raise ApiError(429, message, headers={"Retry-After": str(wait)})
    user = await run_in_threadpool(check_password, request.app, services.db, creds.email, creds.password)
    if user is None:
        raise ApiError(401, "Wrong email or password.")
    await throttle.succeeded(creds.email, ip)
    token = jwt_auth.issue(app_secret(request.app), user.id, user.tenant_id, int(time.time()))
    answer = TokenAnswer(access_token=token, expires_in=jwt_auth.TTL_S)
    return Response(
        answer.model_dump_json(),
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


async def issue_token(request: Request) -> Response:
    try:
        return await _issue(request)
    except ApiError as error:
        return error_response(error)


def auth_token_routes() -> list[Route]:
    return [Route(PATH, issue_token, methods=["POST"], name="auth_token")]
