"""The in-process MCP server and client the tool tests share: `server` (a fixture: import it into
a test module) and `connect` (the official client acting for a tenant)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from analytics_mcp.services import Services
from analytics_mcp.storage.accounts import Tenant
from analytics_mcp.tools import acting_for, build_mcp_server


@pytest.fixture
async def server(services: Services) -> AsyncIterator[MCPServer[Services]]:
    yield build_mcp_server(services)
    await services.db.aio.dispose()  # the conftest fixture disposes only the sync engine


@asynccontextmanager
async def connect(server: MCPServer[Services], tenant: Tenant) -> AsyncIterator[Client]:
    """Opened inside the test: anyio scopes must be left in the task that entered them."""
    with acting_for(tenant.id):
        async with Client(server) as client:
            yield client
