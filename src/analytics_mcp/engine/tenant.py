"""The caller tenant's sites, loaded for `parse_query` (the one read an edge needs before asking)."""

from __future__ import annotations

from typing import Unpack

from analytics_mcp.engine.query import Query, QueryArguments, parse_query
from analytics_mcp.storage.account_types import Site, Tenant
from analytics_mcp.storage.accounts import list_sites
from analytics_mcp.storage.db import Database


async def tenant_sites(db: Database, tenant_id: int) -> list[Site]:
    async with db.aio.connect() as conn:
        return await conn.run_sync(lambda sync: list_sites(sync, tenant_id))


async def query_for_tenant(db: Database, tenant: Tenant, **arguments: Unpack[QueryArguments]) -> Query:
    """`parse_query` over the tenant's own sites: another tenant's domain is "site: not found"."""
    sites = await tenant_sites(db, tenant.id)
    return parse_query(sites, tenant.timezone, **arguments)
