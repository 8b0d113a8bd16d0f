"""What every `tools/call` passes before the SDK runs the tool (server middleware, so HTTP, stdio
and the in-process chat all go through it), in this order:

1. The caller's rate limit: the REST API's per-token bucket (`http_api.ratelimit`, the same
   namespace and key, so REST and MCP calls of one token share `Settings.rate_limit`); over it,
   an isError result `rate limited: retry in N s`.
2. A known tool name; an unknown one is the JSON-RPC error -32602 (invalid params) listing the tools.
3. Only the arguments the tool's inputSchema names, with values that validate (`tools.inputs`):
   an isError result with one line naming the argument.

Whose bucket: over HTTP, the bearer token's in the app's limiter (`rate_key`: our API token's
id, as /api/v1 counts it; an OAuth token's client and tenant); over stdio, the pinned token's in
a limiter of the process's own (shared with the REST servers when `rate_limit_storage` is
Redis). The chat's in-process calls are not counted: the chat request itself was, and the chat
has its own credits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.tools import Tool
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, CallToolResult, TextContent
from starlette.requests import Request

from analytics_mcp.config import Settings
from analytics_mcp.storage.ratelimit import RateLimiter, limiter_for
from analytics_mcp.tools.access import current_caller
from analytics_mcp.tools.inputs import argument_problem
from analytics_mcp.tools.oauth_resource import is_oauth_token


def rate_key(token: AccessToken) -> str:
    """Our API token's id, the key /api/v1 counts it under; an OAuth access token counts per
    client app and tenant (one client, e.g. a hosted assistant, serves many tenants)."""
    if is_oauth_token(token.token):
        return f"oauth:{token.client_id}:{token.subject}"
    return token.client_id


def refusal(tool: str, message: str) -> CallToolResult:
    """An isError result worded as the SDK words a tool's own ToolError."""
    return CallToolResult(
        content=[TextContent(type="text", text=f"Error executing tool {tool}: {message}")], is_error=True
    )


class ToolGate:
    """Server middleware; `standalone`: no HTTP app around the server (stdio), so the gate keeps
    a limiter of its own for the pinned token."""

    def __init__(self, tools: list[Tool], settings: Settings, *, standalone: bool = False) -> None:
        self.tools: dict[str, Tool] = {tool.name: tool for tool in tools}
        self.settings = settings
        self.standalone = standalone
        self._own: RateLimiter | None = None  # built on first use, in the loop that serves

    def bucket(self, ctx: ServerRequestContext[Any, Any]) -> tuple[RateLimiter, str] | None:
        """The limiter and key this call counts against, or None (not limited)."""
        token = get_access_token()
        request = ctx.request
        if token is not None and isinstance(request, Request):
            return limiter_for(request.app), rate_key(token)
        caller = current_caller()
        if not self.standalone or caller is None or caller.token_id is None:
            return None
        if self._own is None:
            self._own = RateLimiter.from_settings(self.settings)
        return self._own, caller.token_id

    async def retry_in(self, ctx: ServerRequestContext[Any, Any]) -> int | None:
        """Count this call; the seconds to wait when it is over the limit, else None."""
        bucket = self.bucket(ctx)
        if bucket is None:
            return None
        state = await bucket[0].hit(bucket[1])
        if state is None or state.allowed:  # None: the store failed, and we fail open as REST does
            return None
        return state.retry_after()

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "tools/call" or ctx.request_id is None:
            return await call_next(ctx)
        params: Mapping[str, Any] = ctx.params or {}
        name = params.get("name")
        wait = await self.retry_in(ctx)
        if wait is not None:
            return refusal(str(name), f"rate limited: retry in {wait} s")
        tool = self.tools.get(name) if isinstance(name, str) else None
        if tool is None:
            raise MCPError(
                code=INVALID_PARAMS, message=f"unknown tool {name!r}; tools: {', '.join(self.tools)}"
            )
        arguments = params.get("arguments")
        if isinstance(arguments, Mapping) or arguments is None:
            problem = argument_problem(tool, arguments or {})
            if problem is not None:
                return refusal(tool.name, problem)
        return await call_next(ctx)  # anything else malformed: the SDK's own -32602
