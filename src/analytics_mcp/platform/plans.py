"""Plans and subscriptions at work: the limits in force for a tenant, the segment limit the data
side checks before creating or restoring a segment, and usage against the limits
(GET /api/analytics/usage/). Definitions: docs/platform.md.

The limits in force are the subscription's; a tenant without one keeps its plan's (the `plans`
table: segments and AI credits per calendar month) and has no events quota.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from analytics_mcp.platform import segments as segment_store
from analytics_mcp.platform.memberships import profiles_db
from analytics_mcp.services import Services
from analytics_mcp.storage.clickhouse import ClickHouseEvents
from analytics_mcp.storage.event_counts import count_clickhouse, count_sql
from analytics_mcp.storage.platform_schema import profiles
from analytics_mcp.storage.schema import sites
from analytics_mcp.storage.subscriptions import (
    UTC_ZONE,
    Subscription,
    credits_used,
    get_subscription,
)
from analytics_mcp.timeutil import local_midnight_ms


def check_segment_limit(services: Services, tenant_id: int) -> None:
    """Raises LimitReached (403 through http_api/errormap.py) when the tenant already has as many
    active segments as its subscription (else its plan) allows. The data side's creation path
    (platform/segments.create_segment) applies the same rule in its own transaction."""
    with services.db.sync.begin() as conn:
        segment_store._check_limit(conn, tenant_id)  # the one implementation of the rule


@dataclass(frozen=True, slots=True)
class Usage:
    subscription: Subscription
    period: tuple[date, date]
    used: dict[str, int]  # events, users, segments, ai_credits


async def tenant_events(
    services: Services, tenant_id: int, first: date, last: date, zone: ZoneInfo = UTC_ZONE
) -> int:
    """Events of the tenant's sites whose time is in the days first..last of `zone` (UTC: billing
    periods) (storage/event_counts.py)."""
    start_ms, end_ms = local_midnight_ms(first, zone), local_midnight_ms(last + timedelta(days=1), zone)
    async with services.db.aio.connect() as conn:
        result = await conn.execute(select(sites.c.id).where(sites.c.tenant_id == tenant_id))
        site_ids = list(result.scalars())
    store = services.events_db
    if isinstance(store, ClickHouseEvents):
        return await asyncio.to_thread(count_clickhouse, store, site_ids, start_ms, end_ms)
    async with store.aio.connect() as events_conn:
        return await events_conn.run_sync(lambda sync: count_sql(sync, site_ids, start_ms, end_ms))


async def profile_count(services: Services, tenant_id: int) -> int:
    """Profiles ("users") of the tenant (memberships.profiles_db: where they live)."""
    query = select(func.count()).where(profiles.c.tenant_id == tenant_id)
    async with profiles_db(services).aio.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


async def usage(services: Services, tenant_id: int, today: date) -> Usage | None:
    """The current billing period's usage against the subscription; None without one."""
    async with services.db.aio.connect() as conn:
        sub = await conn.run_sync(lambda sync: get_subscription(sync, tenant_id))
        if sub is None:
            return None
        first, last = sub.period_on(today)
        segment_count = await conn.run_sync(lambda sync: segment_store.count_active(sync, tenant_id))
        credits = await conn.run_sync(
            lambda sync: credits_used(sync, tenant_id, first, last + timedelta(days=1))
        )
    used = {
        "events": await tenant_events(services, tenant_id, first, last),
        "users": await profile_count(services, tenant_id),
        "segments": segment_count,
        "ai_credits": credits,
    }
    return Usage(sub, (first, last), used)
