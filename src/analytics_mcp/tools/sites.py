"""`list-sites`: the tenant's sites, the first call a model should make."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult

from analytics_mcp.tools.access import authorize
from analytics_mcp.tools.answers import SiteRow, SitesAnswer
from analytics_mcp.tools.args import TenantArg
from analytics_mcp.tools.common import reply, services_of

MAX_SITES = 200


async def list_sites(
    ctx: Context[Any, Any], tenant: TenantArg = None
) -> Annotated[CallToolResult, SitesAnswer]:
    """List the websites of your tenant: their domains, time zones and reporting currencies.

    Call this first: the other tools take one of these domains as `domain` (or none, for all sites
    together), and their dates are in the site's time zone (the tenant's time zone when several
    sites are read together). Also shows the tenant's plan."""
    services = services_of(ctx)
    allowed = await authorize(services.db, tenant)
    owner, sites = allowed.tenant, allowed.sites
    answer = SitesAnswer(
        tenant=owner.slug,
        name=owner.name,
        plan=owner.plan,
        timezone=owner.timezone,
        sites=[SiteRow(domain=s.domain, timezone=s.timezone, currency=s.currency) for s in sites[:MAX_SITES]],
        truncated=len(sites) > MAX_SITES,
    )
    return reply("list-sites", answer)
