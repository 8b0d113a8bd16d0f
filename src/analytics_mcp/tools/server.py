"""`build_mcp_server(services)`: the MCP server with the 18 tools (`tools.registry`), the glossary
resource and the weekly-report prompt, every tool call behind `tools.gate` (rate limit, known tool,
known and valid arguments). One server per app instance (its HTTP session manager runs once)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from analytics_mcp import __version__
from analytics_mcp.services import Services
from analytics_mcp.tools.gate import ToolGate
from analytics_mcp.tools.glossary import glossary_markdown, weekly_report_prompt
from analytics_mcp.tools.registry import build_tools

SERVER_NAME = "analytics-mcp"
GLOSSARY_URI = "analytics://glossary"
INSTRUCTIONS = """\
Read-only, privacy-friendly web analytics (no cookies; visitors are anonymous daily ids).
`tenant` is optional: without it a tool answers for the tenant of your API token. Call list-sites
first to learn the tenant's domains; pass one as `domain`, or omit it for all sites together.
Periods (local to the site's time zone): 24h, 7d (default), 30d, 90d, 12m end now, so today is
partial (the answer says partial_day and data_through); yesterday and last_7_complete_days
(also 28, 30, 90) hold whole days only; or explicit inclusive dates `from` + `to` (YYYY-MM-DD).
The overview tools take `compare`: previous_period (default), year_over_year, or custom with
compare_from + compare_to. The reports take `filters` such as `source==google;page==/pricing`.
Every answer states the date range, time zone, sites and (for comparisons) the comparison range;
quote those when you report numbers. Rates are percentages with one decimal, durations are
seconds, money is in the answer's `currency`. Answers name the glossary entries that define their
metrics; the glossary (with the filter grammar) is the resource analytics://glossary."""


def build_mcp_server(services: Services, *, standalone: bool = False) -> MCPServer[Services]:
    """`standalone`: served without our HTTP app (stdio), so tool calls count against a rate
    limiter of the server's own (`tools.gate`)."""

    @asynccontextmanager
    async def lifespan(_server: MCPServer[Services]) -> AsyncIterator[Services]:
        # Entered per in-process client connection and once per HTTP session manager, so it
        # only hands out the app's container; the database lives as long as the app does.
        yield services

    tools = build_tools()
    # log_level: MCPServer() runs logging.basicConfig on the root logger (stderr) when nothing
    # configured it yet; WARNING keeps the app's and stdio's stderr quiet per request.
    server: MCPServer[Services] = MCPServer(
        SERVER_NAME,
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        log_level="WARNING",
        tools=tools,
        # Nothing here ever changes at run time, and a stateless endpoint has no stream to push
        # on: without `subscriptions/listen`, server/discover advertises what initialize does
        # (listChanged and resources.subscribe false), rather than true in the 2026-07-28 era.
        subscriptions=False,
    )
    server.middleware.append(ToolGate(tools, services.settings, standalone=standalone))
    _register_extras(server)
    return server


def _register_extras(server: MCPServer[Services]) -> None:
    @server.resource(
        GLOSSARY_URI,
        name="glossary",
        title="Metric glossary",
        description=(
            "How visitors, visits, bounce rate, durations, periods, comparisons, sources, goals and "
            "revenue are defined, and the filter grammar."
        ),
        mime_type="text/markdown",
    )
    def glossary() -> str:
        return glossary_markdown()

    @server.prompt(name="weekly-report", title="Weekly analytics report")
    def weekly_report(
        tenant: Annotated[str | None, Field(description="Tenant slug; omit for your token's tenant")] = None,
        domain: Annotated[str | None, Field(description="One site's domain; omit for all sites")] = None,
    ) -> str:
        """Ask for a weekly report of a tenant's (or one site's) traffic, content, sources and conversions."""
        return weekly_report_prompt(tenant, domain)
