"""The segment reports of seed 001 (`/api/analytics/segments/`, `/overlap/`, the overview's segment
figures) and of the MCP tools `segments` and `segment-overlap`: one function each, shared by
every door (docs/platform.md, "Reports").

Each reads the tenant's active segments from the accounts database and the computed snapshots'
counts from the events database (segment_days, segment_overlaps); never the member rows, except
`membership_totals`' distinct count.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, select

from analytics_mcp.engine.numbers import rate
from analytics_mcp.platform import clickhouse_memberships as ch_ms
from analytics_mcp.platform import memberships as ms
from analytics_mcp.platform.member_totals import clickhouse_total, total_members
from analytics_mcp.platform.segments import Segment, list_segments
from analytics_mcp.services import Services
from analytics_mcp.storage.platform_schema import segment_days

TREND_DAYS = 30
MIN_TREND_DAYS = 2
TOP_PAIRS = 20


async def _active(services: Services, tenant_id: int) -> list[Segment]:
    async with services.db.aio.connect() as conn:
        return await conn.run_sync(lambda c: list_segments(c, tenant_id))


def _trend_days(conn: Connection, ids: list[int], first: int, last: int) -> list[tuple[int, int, int]]:
    d = segment_days.c
    stmt = (
        select(d.segment_id, d.day, d.member_count)
        .where(d.segment_id.in_(ids), d.day >= first, d.day <= last)
        .order_by(d.segment_id, d.day)
    )
    return [(segment_id, day, count) for segment_id, day, count in conn.execute(stmt)]


async def _trends(services: Services, ids: list[int], today: date) -> dict[int, list[dict[str, Any]]]:
    first, last = ms.day_number(today - timedelta(days=TREND_DAYS - 1)), ms.day_number(today)
    if (ch := ms.clickhouse_of(services)) is not None:
        rows = await asyncio.to_thread(ch_ms.recorded_days, ch, ids, first, last)
    else:
        async with ms.events_sql(services).aio.connect() as conn:
            rows = await conn.run_sync(lambda c: _trend_days(c, ids, first, last))
    trends: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    for segment_id, day, count in rows:
        trends[segment_id].append({"day": ms.day_date(day).isoformat(), "count": count})
    return {i: (points if len(points) >= MIN_TREND_DAYS else []) for i, points in trends.items()}


async def segments_with_trend(services: Services, tenant_id: int, today: date) -> list[dict[str, Any]]:
    """The tenant's active segments by id: id, name, member_count and last_computed_at (ISO Z; null
    when never computed) of the latest computation, and `trend`: the computed days among the 30
    local days ending `today` (oldest first, days not computed left out), empty when fewer than 2."""
    active = await _active(services, tenant_id)
    if not active:
        return []
    trends = await _trends(services, [s.id for s in active], today)
    return [
        {
            "id": s.id,
            "name": s.name,
            "member_count": s.member_count,
            "last_computed_at": s.last_computed_at,
            "trend": trends[s.id],
        }
        for s in active
    ]


def _pairs(conn: Connection, ids: list[int]) -> list[tuple[int, int, int, int, int]]:
    latest = ms.latest_days(conn, ids)
    counts = {sid: (day, count) for sid, (day, count, _at) in latest.items()}
    rows = []
    for a, b, day_a, day_b, overlap in ms.overlap_rows(conn, ids):
        # Only pairs computed on both segments' latest snapshots (an older pair is stale).
        if counts.get(a, (None,))[0] == day_a and counts.get(b, (None,))[0] == day_b:
            rows.append((a, b, overlap, counts[a][1], counts[b][1]))
    return rows


async def overlap_pairs(services: Services, tenant_id: int) -> list[dict[str, Any]]:
    """Pairs of active segments sharing members in their latest snapshots: the top 20 by `overlap`
    (ties: lower seg_a_id first, then lower seg_b_id; seg_a_id < seg_b_id), overlap_pct =
    overlap / min(member counts) x 100 with one decimal. [] with fewer than 2 active segments or
    no shared member."""
    active = await _active(services, tenant_id)
    if len(active) < 2:
        return []
    names = {s.id: s.name for s in active}
    if (ch := ms.clickhouse_of(services)) is not None:  # the latest snapshots' shared members, read now
        rows = await asyncio.to_thread(ch_ms.overlap_counts, ch, list(names))
    else:
        async with ms.events_sql(services).aio.connect() as conn:
            rows = await conn.run_sync(lambda c: _pairs(c, list(names)))
    rows.sort(key=lambda r: (-r[2], r[0], r[1]))
    return [
        {
            "seg_a_id": a,
            "seg_a_name": names[a],
            "seg_b_id": b,
            "seg_b_name": names[b],
            "overlap": overlap,
            "overlap_pct": rate(overlap, min(count_a, count_b)),
        }
        for a, b, overlap, count_a, count_b in rows[:TOP_PAIRS]
    ]


async def membership_totals(services: Services, tenant_id: int) -> tuple[int, int]:
    """(active segments, total_members): total_members = distinct profiles in at least one active
    segment's latest computed snapshot (a profile in three segments counts once; 0 when none was
    computed)."""
    active = await _active(services, tenant_id)
    ids = [s.id for s in active]

    if (ch := ms.clickhouse_of(services)) is not None:
        return len(active), await asyncio.to_thread(clickhouse_total, services, ch, tenant_id, ids)
    async with ms.events_sql(services).aio.connect() as conn:
        total = await conn.run_sync(lambda c: total_members(c, tenant_id, ids))
    return len(active), total
