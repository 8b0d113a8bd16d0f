"""What `analytics-mcp demo` prints on stdout: where to log in and how to connect a client."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DemoAccess:
    base_url: str  # http://host:port, no trailing slash
    email: str
    password: str
    token: str
    db_url: str
    command: str  # absolute path of the analytics-mcp script
    chat: bool = False  # ANTHROPIC_API_KEY is set: the dashboard's AI chat answers


def mcp_http_config(base_url: str, token: str) -> dict[str, Any]:
    """Client config for Claude Code / Cursor over streamable HTTP."""
    server = {
        "type": "http",
        "url": f"{base_url}/mcp/analytics",
        "headers": {"Authorization": f"Bearer {token}"},
    }
    return {"mcpServers": {"analytics": server}}


def mcp_stdio_config(command: str, token: str, db_url: str) -> dict[str, Any]:
    """Client config for Claude Desktop: the server runs as a local subprocess over stdio."""
    env = {"ANALYTICS_TOKEN": token, "ANALYTICS_DB_URL": db_url}
    return {"mcpServers": {"analytics": {"command": command, "args": ["mcp"], "env": env}}}


def chat_lines(enabled: bool) -> list[str]:
    """Whether the dashboard's AI chat is on, and how to turn it on when it is not."""
    if enabled:
        return ["  AI chat:    on (ANTHROPIC_API_KEY is set): the AI button in the dashboard"]
    return [
        "  AI chat:    off (ANTHROPIC_API_KEY is not set). To turn it on, stop the demo and run",
        "              ANTHROPIC_API_KEY=sk-ant-... make demo   (or export it before `analytics-mcp demo`)",
    ]


def render_banner(access: DemoAccess) -> str:
    base = access.base_url
    curl = f'curl -H "Authorization: Bearer {access.token}" "{base}/api/v1/stats/overview?period=30d"'
    http_config = json.dumps(mcp_http_config(base, access.token), indent=2)
    stdio_config = json.dumps(mcp_stdio_config(access.command, access.token, access.db_url), indent=2)
    return "\n".join(
        [
            "",
            "analytics-mcp demo is ready",
            "",
            f"  Dashboard:  {base}/",
            f"  Login:      {access.email} / {access.password}",
            f"  API token:  {access.token}",
            "              (read + ingest + admin; shown once, a new one is made on every run)",
            *chat_lines(access.chat),
            "",
            "Try the REST API:",
            f"  {curl}",
            "",
            "MCP for Claude Code or Cursor (HTTP), e.g. in .mcp.json:",
            http_config,
            "",
            "MCP for Claude Desktop (stdio), in claude_desktop_config.json:",
            stdio_config,
            "",
        ]
    )
