"""The caller tenant's sites and their goals, loaded for `parse_query` (the one read of the
accounts database an edge needs before asking; the reports then read the events database)."""

from __future__ import annotations

from typing import Unpack

from sqlalchemy import Connection

from analytics_mcp.engine.query import Query, QueryArguments, parse_query
from analytics_mcp.storage.account_types import Goal, Site, Tenant
from analytics_mcp.storage.accounts import list_goals, list_sites
from analytics_mcp.storage.db import Database


async def tenant_sites(db: Database, tenant_id: int) -> list[Site]:
    async with db.aio.connect() as conn:
        return await conn.run_sync(lambda sync: list_sites(sync, tenant_id))


async def query_for_tenant(db: Database, tenant: Tenant, **arguments: Unpack[QueryArguments]) -> Query:
    """`parse_query` over the tenant's own sites and goals: another tenant's domain is "site: not
    found". `db` is the accounts database."""
    sites, goals = await sites_and_goals(db, tenant.id)
    return parse_query(sites, tenant.timezone, goals=goals, **arguments)


async def sites_and_goals(db: Database, tenant_id: int) -> tuple[list[Site], list[Goal]]:
    """The tenant's sites and the goals defined on them, read in one round trip."""

    def load(sync: Connection) -> tuple[list[Site], list[Goal]]:
        sites = list_sites(sync, tenant_id)
        return sites, list_goals(sync, [site.id for site in sites])

    async with db.aio.connect() as conn:
        return await conn.run_sync(load)
