"""The MCP server: sixteen read-only tools over the engine, one list (`registry`), served
over Streamable HTTP (`http`), stdio (`stdio`) and in-process (the chat: `Client(server)` inside
`acting_for(tenant_id)`)."""

from __future__ import annotations

from analytics_mcp.tools.access import acting_for
from analytics_mcp.tools.registry import TOOL_NAMES, TOOLS
from analytics_mcp.tools.server import build_mcp_server

__all__ = ["TOOLS", "TOOL_NAMES", "acting_for", "build_mcp_server"]
