"""Running every tool (over HTTP and in-process) leaves the SQLite file byte-for-byte unchanged."""

from __future__ import annotations

import hashlib
from pathlib import Path

from mcp import Client
from starlette.applications import Starlette

from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.tools import TOOL_NAMES, acting_for
from test_mcp_numbers import (
    CHECKS,
    case_arguments,
    http_tools,
    seed,
    services_of,
    settings,
    structured,
    tool_arguments,
)

__all__ = ["settings"]  # the module's settings fixture (test host, no rate limit) applies here too


def file_digest(services: Services) -> str:
    services.db.checkpoint()
    path = Path(services.db.sync.url.database or "")
    assert path.is_file() and Path(f"{path}-wal").stat().st_size == 0
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def run_everything(client: Client) -> None:
    """Every tool (the A/B tool, with no experiment here, answers an error: still a read)."""
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == set(TOOL_NAMES)
    for arguments in case_arguments():
        for name, tool in tools.items():
            result = await client.call_tool(name, tool_arguments(tool, arguments))
            if name in CHECKS or name == "list-sites":
                structured(tool, result)
    await client.read_resource("analytics://glossary")
    await client.get_prompt("weekly-report", {"tenant": "acme"})


async def test_running_every_tool_leaves_the_database_unchanged(app: Starlette) -> None:
    services = services_of(app)
    token = seed(services)
    async with http_tools(app, token) as (client, _http):
        # The token's first use stamps last_used_at (a legitimate write, at most once a minute);
        # take it before the first digest, then nothing the tools do may write.
        await client.call_tool("list-sites", {"tenant": "acme"})
        before = file_digest(services)
        await run_everything(client)
    with services.db.sync.connect() as conn:
        tenant = accounts.get_tenant(conn, "acme")
    assert tenant is not None
    with acting_for(tenant.id):
        async with Client(app.state.mcp_server) as in_process:
            await run_everything(in_process)
    assert file_digest(services) == before
