"""The caller tenant's sites, loaded for `parse_query` (the one read an edge needs before asking)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from analytics_mcp.engine.filters import FilterInput
from analytics_mcp.engine.query import Query, parse_query
from analytics_mcp.storage.account_types import Site, Tenant
from analytics_mcp.storage.accounts import list_sites
from analytics_mcp.storage.db import Database


async def tenant_sites(db: Database, tenant_id: int) -> list[Site]:
    async with db.aio.connect() as conn:
        return await conn.run_sync(lambda sync: list_sites(sync, tenant_id))


async def query_for_tenant(
    db: Database,
    tenant: Tenant,
    *,
    period: str | None = None,
    date_from: str | date | None = None,
    date_to: str | date | None = None,
    site: str | None = None,
    filters: FilterInput = None,
    limit: int | None = None,
    default_limit: int = 10,
    max_limit: int = 100,
    now: datetime | None = None,
) -> Query:
    """`parse_query` over the tenant's own sites: another tenant's domain is "site: not found"."""
    arguments: dict[str, Any] = dict(
        period=period, date_from=date_from, date_to=date_to, site=site, filters=filters, limit=limit
    )
    sites = await tenant_sites(db, tenant.id)
    return parse_query(
        sites, tenant.timezone, **arguments, default_limit=default_limit, max_limit=max_limit, now=now
    )
