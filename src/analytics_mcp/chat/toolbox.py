"""The MCP tools as the chat sees them: listed from, and called through, the app's own MCP server
in-process (`Client(server)`), pinned to the caller's tenant.

Pinning is two locks on one door: `acting_for` makes the tools' own `authorize` see the caller's
tenant (and re-check its token), and every call's `tenant` argument is overwritten with that
tenant's slug, whatever the model wrote. A model asking for another tenant's slug therefore gets
its own tenant's data; it cannot even produce the "not accessible" error.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from mcp.client.client import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult

from analytics_mcp.chat.models import Actor, Json, Limits
from analytics_mcp.tools import acting_for

log = logging.getLogger("analytics_mcp.chat")

CALL_FAILED = "The tool call failed. Try other arguments, or answer without this tool."


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    arguments: Json  # what really ran (pinned)
    data: Json | None  # structured output, for the client
    text: str  # what the model reads (capped)
    error: str | None = None  # the error text of a failed call


def cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    return f"{text[:limit]}\n...(cut {cut} more characters; ask for fewer rows or a narrower question)"


def result_text(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


class Toolbox:
    def __init__(self, client: Client, tools: list[Any], actor: Actor, site: str | None, limits: Limits):
        self.client = client
        self.schemas: dict[str, Json] = {tool.name: tool.input_schema for tool in tools}
        self.definitions: list[Json] = [
            {"name": tool.name, "description": tool.description or "", "input_schema": tool.input_schema}
            for tool in tools
        ]
        if self.definitions:  # cache the tool list (it is resent every round) with the system prompt
            self.definitions[-1] = {**self.definitions[-1], "cache_control": {"type": "ephemeral"}}
        self.slug = actor.tenant.slug
        self.site = site
        self.limits = limits

    def pin(self, name: str, raw: Any) -> Json:
        """The model's arguments with our tenant, the chosen site as default domain, rows capped."""
        arguments = dict(raw) if isinstance(raw, dict) else {}
        arguments["tenant"] = self.slug
        properties = self.schemas.get(name, {}).get("properties", {})
        if self.site and "domain" in properties and not arguments.get("domain"):
            arguments["domain"] = self.site
        limit = arguments.get("limit")
        if isinstance(limit, int) and limit > self.limits.max_tool_limit:
            arguments["limit"] = self.limits.max_tool_limit
        return arguments

    async def call(self, name: str, raw: Any) -> ToolOutcome:
        arguments = self.pin(name, raw)
        if name not in self.schemas:
            message = f"Unknown tool: {name}. Use one of: {', '.join(self.schemas)}."
            return ToolOutcome(arguments, None, message, message)
        try:
            result = await self.client.call_tool(name, arguments)
        except Exception as exc:  # protocol-level failure: the model gets a generic error
            log.warning("chat tool call %s failed: %s", name, type(exc).__name__)
            return ToolOutcome(arguments, None, CALL_FAILED, CALL_FAILED)
        text = cap(result_text(result), self.limits.max_result_chars)
        if result.is_error:
            return ToolOutcome(arguments, None, text, text)
        return ToolOutcome(arguments, result.structured_content, text)


@asynccontextmanager
async def pinned_tools(
    server: MCPServer[Any], actor: Actor, site: str | None, limits: Limits
) -> AsyncIterator[Toolbox]:
    """The tools of `server`, called in-process as `actor`'s tenant for the block."""
    failure: Exception | None = None
    with acting_for(actor.tenant.id, actor.token_id):
        async with Client(server) as client:
            tools = (await client.list_tools()).tools
            try:
                yield Toolbox(client, list(tools), actor, site, limits)
            except Exception as exc:
                # The block's own error: re-raised below, so the client's task group does not
                # wrap it in an ExceptionGroup.
                failure = exc
    if failure is not None:
        raise failure
