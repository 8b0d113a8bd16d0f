"""The daily computation inside `serve` (docs/platform.md, "Computing"): every few minutes, each
tenant whose local clock has reached ANALYTICS_SEGMENTS_HOUR gets today's (local) snapshot of
every active segment not yet computed for today. A server down at that hour computes when it is
back, the same day; a segment computed on demand earlier that day is not computed again.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from analytics_mcp.periodic import periodic
from analytics_mcp.platform import memberships as ms
from analytics_mcp.platform.compute import Computed, compute_segments
from analytics_mcp.platform.segments import list_segments
from analytics_mcp.services import Services
from analytics_mcp.storage.account_core import list_tenants
from analytics_mcp.storage.db import Database
from analytics_mcp.timeutil import local_day, utc_now

log = logging.getLogger("analytics_mcp.platform")
CHECK_EVERY_S = 300.0
FIRST_ROUND_S = 60.0  # after start: a server (or test app) that lives a few seconds computes nothing


def tenant_today(timezone: str, now: datetime | None = None) -> date:
    return local_day(now or utc_now(), timezone)


async def _due_segments(services: Services, tenant_id: int, day: date) -> list[int]:
    """The tenant's active segments without a snapshot of `day` or later."""
    async with services.db.aio.connect() as conn:
        active = await conn.run_sync(lambda c: list_segments(c, tenant_id))
    ids = [s.id for s in active]
    if not ids:
        return []
    latest = await ms.latest_of(services, ids)
    today = ms.day_number(day)
    return [i for i in ids if i not in latest or latest[i][0] < today]


async def compute_due(services: Services, now: datetime) -> list[Computed]:
    """One round: today's snapshot of every due segment of every tenant past the hour."""
    async with services.db.aio.connect() as conn:
        tenants = await conn.run_sync(list_tenants)
    done: list[Computed] = []
    for tenant in tenants:
        local = now.astimezone(ZoneInfo(tenant.timezone))
        if local.hour < services.settings.segments_hour:
            continue
        due = await _due_segments(services, tenant.id, local.date())
        if due:
            done += await compute_segments(services, tenant.id, local.date(), due)
    return done


async def _round(services: Services, clock: Callable[[], datetime]) -> None:
    done = await compute_due(services, clock())
    if done:
        log.info("segments computed: %d", len(done))


@contextlib.asynccontextmanager
async def segment_schedule(
    services: Services,
    every: float = CHECK_EVERY_S,
    clock: Callable[[], datetime] = utc_now,
    first: float = FIRST_ROUND_S,
) -> AsyncIterator[None]:
    """The schedule inside the app's lifespan (tests pass a pinned `clock`). Not with the events
    in ClickHouse, where segments are not built yet."""
    if not isinstance(services.events_db, Database):
        yield
        return
    async with periodic(lambda: _round(services, clock), every=every, first=first, what="platform segments"):
        yield
