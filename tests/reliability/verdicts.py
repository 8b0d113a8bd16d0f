"""What a body endpoint may answer to a body it cannot use: never a 5xx, never silence; on /api
the one JSON error shape `{"message": str, "code": str, "errors"?: {field: [str]}}`; on the MCP endpoint a
JSON-RPC error (the protocol's own shape) or a 4xx of the SDK's transport; the dashboard's
sign-in forms answer with their page (a 413 in the JSON error shape)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from reliability.app_routes import Dialect
from reliability.raw_http import RawReply

CODE = re.compile(r"[a-z][a-z0-9_]*")  # the error shape's `code`: snake_case


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def error_shape_problem(headers: Mapping[str, str], body: bytes) -> str | None:
    if not headers.get("content-type", "").startswith("application/json"):
        return f"content-type {headers.get('content-type')!r}, not JSON: {body[:200]!r}"
    parsed = _json(body)
    if not isinstance(parsed, dict) or not isinstance(parsed.get("message"), str) or not parsed["message"]:
        return f"not the error shape: {body[:200]!r}"
    if not isinstance(parsed.get("code"), str) or not CODE.fullmatch(parsed["code"]):
        return f"no machine-readable code: {body[:200]!r}"
    if set(parsed) - {"message", "code", "errors"}:
        return f"keys beyond message, code and errors: {sorted(parsed)}"
    errors = parsed.get("errors")
    if errors is not None and not (
        isinstance(errors, dict)
        and all(isinstance(v, list) and all(isinstance(m, str) for m in v) for v in errors.values())
    ):
        return f"errors is not {{field: [message]}}: {errors!r}"
    return None


def jsonrpc_error_problem(body: bytes) -> str | None:
    parsed = _json(body)
    messages = parsed if isinstance(parsed, list) else [parsed]
    if not messages or not all(isinstance(m, dict) and isinstance(m.get("error"), dict) for m in messages):
        return f"not a JSON-RPC error: {body[:200]!r}"
    return None


def problem(dialect: Dialect, reply: RawReply, *, may_succeed: bool = False) -> str | None:
    """Why this answer to a spoiled body is wrong, or None. `may_succeed`: the body is still one
    the endpoint may reasonably take (a NUL stripped, valid JSON under a lenient content type)."""
    status = reply.status
    if status is None:
        return "no answer (connection closed or timed out)"
    if status >= 500:
        return f"{status} {reply.body[:200]!r}"
    if dialect == "mcp":
        if status >= 400 or may_succeed:
            return None  # the SDK's transport refusals (content type, body limit) have no set shape
        return jsonrpc_error_problem(reply.body)
    if status >= 400:
        if dialect == "api" or status == 413:
            return error_shape_problem(reply.headers, reply.body)
        return None
    if dialect == "api" and not may_succeed:
        return f"accepted ({status}): {reply.body[:200]!r}"
    return None


@dataclass
class Tally:
    """Bodies sent by one test and what was wrong with the answers."""

    what: str
    sent: int = 0
    server_errors: int = 0
    problems: list[str] = field(default_factory=list)

    def check(self, case: str, dialect: Dialect, reply: RawReply, *, may_succeed: bool = False) -> None:
        self.sent += 1
        if reply.status is not None and reply.status >= 500:
            self.server_errors += 1
        found = problem(dialect, reply, may_succeed=may_succeed)
        if found is not None:
            self.problems.append(f"{case}: {found}")

    def summary(self) -> str:
        return (
            f"bodies ({self.what}): {self.sent} sent, {self.server_errors} 5xx, {len(self.problems)} problems"
        )
