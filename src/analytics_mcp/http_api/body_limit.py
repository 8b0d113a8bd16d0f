"""A body limit for routes whose handlers read the body themselves (sign-in forms, the OAuth
endpoints of the SDK): the same bounded reader as every other route, 413 in the JSON error
shape as soon as the body passes the limit (or declares more), never a body read whole."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from analytics_mcp.http_api.tracker import receive_body

MAX_FORM_BYTES = 16 * 1024  # sign-in, consent and OAuth token forms: a few short fields


class BodyLimit:
    """Pure-ASGI route middleware for form posts: the body is read first through the one bounded
    reader (413 in the JSON error shape past `limit` bytes, while reading), then handed to the
    route as if it had just arrived."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = Headers(scope=scope).get("content-length", "").encode("latin-1")
        body = await receive_body(receive, declared, self.limit)
        pending = [{"type": "http.request", "body": body, "more_body": False}]

        async def replay() -> Message:
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)
