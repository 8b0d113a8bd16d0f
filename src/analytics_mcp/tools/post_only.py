"""/mcp/analytics takes POST only. The endpoint is stateless with JSON responses, so it never has
anything to push: the SDK would still answer a handshake-era GET with a `200 text/event-stream`
that stays open and silent until the client gives up (and DELETE, with no session to end, with
405). Every method but POST gets `405` with `Allow: POST` and a JSON-RPC error body, as the SDK
answers the 2026-07-28 era's GET."""

from __future__ import annotations

import orjson
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

INVALID_REQUEST = -32600
MESSAGE = "Method Not Allowed: POST JSON-RPC requests; this endpoint offers no SSE stream"


class PostOnly:
    """ASGI wrapper: 405 for any HTTP method but POST."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] != "POST":
            error = {"jsonrpc": "2.0", "id": None, "error": {"code": INVALID_REQUEST, "message": MESSAGE}}
            response = Response(
                orjson.dumps(error), 405, headers={"Allow": "POST"}, media_type="application/json"
            )
            return await response(scope, receive, send)
        await self.app(scope, receive, send)
