"""Computing segment memberships for a local day (docs/platform.md, "Computing").

A run reads the tenant's active segments (accounts), evaluates them all (compute_rules), then
stores each segment's day in its own short write transaction on the events database: the day's
members replace what it held, its count goes to segment_days, and, when the day is the segment's
latest, the members it shares with every other active segment's latest snapshot. The segment's
`member_count` and `last_computed_at` are then copied to the accounts row. Last, each registered
`after_compute(services, segment_id, day)` callback runs (activations sync there); a failing
callback is logged and never fails the computation.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import anyio
from sqlalchemy import Connection, Engine

from analytics_mcp.platform import clickhouse_memberships as ch_ms
from analytics_mcp.platform import clickhouse_rules as ch_rules
from analytics_mcp.platform import memberships as ms
from analytics_mcp.platform.compute_rules import Evaluator, Scope
from analytics_mcp.platform.member_totals import store_total, union_size
from analytics_mcp.platform.segments import Segment, list_segments, record_latest
from analytics_mcp.services import Services
from analytics_mcp.storage.account_core import get_tenant_by_id, list_sites
from analytics_mcp.storage.clickhouse import ClickHouseEvents
from analytics_mcp.timeutil import utcnow_iso

log = logging.getLogger("analytics_mcp.platform")

AfterCompute = Callable[[Services, int, date], Awaitable[None]]
AFTER_COMPUTE: list[AfterCompute] = []


def register_after_compute(callback: AfterCompute) -> None:
    """Run `callback(services, segment_id, day)` after each segment's day is stored."""
    if callback not in AFTER_COMPUTE:
        AFTER_COMPUTE.append(callback)


@dataclass(frozen=True, slots=True)
class Computed:
    segment_id: int
    name: str
    day: date
    member_count: int


async def compute_segments(
    services: Services, tenant_id: int, day: date, segment_ids: Sequence[int] | None = None
) -> list[Computed]:
    """Compute the tenant's active segments (or those of `segment_ids` among them) for `day`.
    Ids that are not the tenant's active segments are left out of the answer."""
    store = services.events_db
    events = store if isinstance(store, ClickHouseEvents) else ms.events_sql(services).sync
    done = await anyio.to_thread.run_sync(
        lambda: compute_sync(services.db.sync, events, tenant_id, day, segment_ids)
    )
    for result in done:
        await _after_compute(services, result.segment_id, day)
    return done


async def _after_compute(services: Services, segment_id: int, day: date) -> None:
    for callback in list(AFTER_COMPUTE):
        try:
            await callback(services, segment_id, day)
        except Exception:  # a hook's failure is its own (activations log their syncs)
            log.exception("after_compute callback %r failed for segment %s", callback, segment_id)


def compute_sync(
    accounts: Engine,
    events: Engine | ClickHouseEvents,
    tenant_id: int,
    day: date,
    segment_ids: Sequence[int] | None = None,
) -> list[Computed]:
    with accounts.connect() as conn:
        tenant = get_tenant_by_id(conn, tenant_id)
        if tenant is None:
            return []
        sites = {site.id: site.currency for site in list_sites(conn, tenant_id)}
        active = list_segments(conn, tenant_id)
    chosen = [s for s in active if segment_ids is None or s.id in segment_ids]
    if not chosen:
        return []
    scope = Scope(tenant_id, sites, ZoneInfo(tenant.timezone), day)
    if isinstance(events, ClickHouseEvents):  # behaviour in ClickHouse, profiles in the accounts
        found = ch_rules.evaluate(accounts, events, scope, chosen)
        latest = ch_ms.store(events, [s.id for s in active], found, ms.day_number(day), utcnow_iso())
    else:
        with events.connect() as conn:
            evaluator = Evaluator(conn, scope)
            found = {s.id: evaluator.members(s.match, s.rules) for s in chosen}
        latest = _store(events, active, found, ms.day_number(day), utcnow_iso())
    with accounts.begin() as conn:
        for segment in chosen:
            _day, count, at = latest[segment.id]
            record_latest(conn, segment.id, count, at)
    return [Computed(s.id, s.name, day, len(found[s.id])) for s in chosen]


def _store(
    events: Engine, active: list[Segment], found: dict[int, frozenset[int]], day: int, computed_at: str
) -> dict[int, tuple[int, int, str]]:
    """Write each computed day; returns the latest (day, count, computed_at) of every active segment."""
    with events.connect() as conn:
        latest = ms.latest_days(conn, [s.id for s in active])
        replaced = {sid for sid in found if sid not in latest or day >= latest[sid][0]}
        snapshots = _latest_snapshots(conn, latest, exclude=replaced)
    for segment_id, members in found.items():
        snapshot = ms.Snapshot(segment_id, day, members)
        with events.begin() as conn:
            ms.replace_day(conn, snapshot, computed_at)
            previous = latest.get(segment_id)
            if previous is None or day >= previous[0]:
                snapshots[segment_id] = snapshot
                latest[segment_id] = (day, len(members), computed_at)
                ms.store_overlaps(conn, snapshot, snapshots)
    with events.begin() as conn:  # the overview's total_members for the snapshots left now
        total = union_size(s.members for s in snapshots.values())
        store_total(conn, active[0].tenant_id, latest, total)
    return latest


def _latest_snapshots(
    conn: Connection, latest: dict[int, tuple[int, int, str]], exclude: set[int]
) -> dict[int, ms.Snapshot]:
    """The latest stored snapshot of every active segment whose latest day this run keeps."""
    return {
        segment_id: ms.Snapshot(segment_id, day, ms.member_ids(conn, segment_id, day))
        for segment_id, (day, _count, _at) in latest.items()
        if segment_id not in exclude
    }
