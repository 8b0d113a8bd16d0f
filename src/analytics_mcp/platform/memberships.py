"""Membership snapshots in the events database (docs/platform.md, "Memberships").

`segment_memberships` holds who was in a segment on a local day; `segment_days` one row per
computed (segment, day) with its count; `segment_overlaps` the members two segments' latest
snapshots share. Writing a day replaces that day, so computing it again is idempotent. Days are
numbered as in the rollups: days since 1970-01-01, in the tenant's zone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Connection, and_, delete, func, or_, select

from analytics_mcp.platform import clickhouse_memberships as ch_ms
from analytics_mcp.rollups.upsert import insert_rows, upsert_set
from analytics_mcp.services import Services
from analytics_mcp.storage.clickhouse import ClickHouseEvents
from analytics_mcp.storage.db import Database
from analytics_mcp.storage.platform_schema import (
    profiles,
    segment_days,
    segment_memberships,
    segment_overlaps,
)

EPOCH = date(1970, 1, 1)


def events_sql(services: Services) -> Database:
    """The SQL events database that holds the snapshots; with the events in ClickHouse the callers
    read clickhouse_memberships instead."""
    if isinstance(services.events_db, ClickHouseEvents):
        raise TypeError("the events are in ClickHouse: read platform/clickhouse_memberships")
    return services.events_db


def clickhouse_of(services: Services) -> ClickHouseEvents | None:
    """The ClickHouse events database, or None when the events are in SQL."""
    store = services.events_db
    return store if isinstance(store, ClickHouseEvents) else None


def profiles_db(services: Services) -> Database:
    """Where profiles live: with the events in SQL, and in the accounts database when the events
    are in ClickHouse (docs/platform.md, "Segments on ClickHouse")."""
    store = services.events_db
    return services.db if isinstance(store, ClickHouseEvents) else store


async def latest_of(services: Services, segment_ids: list[int]) -> dict[int, tuple[int, int, str]]:
    """segment id -> (latest computed day, its member count, when computed), from either store."""
    if (ch := clickhouse_of(services)) is not None:
        return await asyncio.to_thread(ch_ms.latest_days, ch, segment_ids)
    async with events_sql(services).aio.connect() as conn:
        latest: dict[int, tuple[int, int, str]] = await conn.run_sync(lambda c: latest_days(c, segment_ids))
    return latest


def day_number(day: date) -> int:
    return (day - EPOCH).days


def day_date(number: int) -> date:
    return EPOCH + timedelta(days=number)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A segment's members on one day (profile ids)."""

    segment_id: int
    day: int
    members: frozenset[int]


def replace_day(conn: Connection, snapshot: Snapshot, computed_at: str) -> None:
    """Store a day's members in place of whatever that day held."""
    m = segment_memberships.c
    conn.execute(
        delete(segment_memberships).where(m.segment_id == snapshot.segment_id, m.day == snapshot.day)
    )
    if snapshot.members:  # in key order, straight to the driver: a million rows in seconds
        rows = [(snapshot.segment_id, snapshot.day, p) for p in sorted(snapshot.members)]
        insert_rows(conn, segment_memberships, rows)
    upsert_set(
        conn,
        segment_days,
        [(snapshot.segment_id, snapshot.day, len(snapshot.members), computed_at)],
        update=("member_count", "computed_at"),
    )


def latest_days(conn: Connection, segment_ids: Iterable[int]) -> dict[int, tuple[int, int, str]]:
    """segment id -> (latest computed day, its member count, when it was computed)."""
    ids = list(segment_ids)
    if not ids:
        return {}
    d = segment_days.c
    newest = (
        select(d.segment_id, func.max(d.day).label("day")).where(d.segment_id.in_(ids)).group_by(d.segment_id)
    )
    latest = newest.subquery()
    stmt = select(d.segment_id, d.day, d.member_count, d.computed_at).join(
        latest, and_(latest.c.segment_id == d.segment_id, latest.c.day == d.day)
    )
    return {row.segment_id: (row.day, row.member_count, row.computed_at) for row in conn.execute(stmt)}


def member_ids(conn: Connection, segment_id: int, day: int) -> frozenset[int]:
    m = segment_memberships.c
    stmt = select(m.profile_id).where(m.segment_id == segment_id, m.day == day)
    return frozenset(conn.execute(stmt).scalars())


def store_overlaps(conn: Connection, snapshot: Snapshot, others: Mapping[int, Snapshot]) -> None:
    """The members `snapshot` shares with each other segment's latest snapshot (pairs a < b)."""
    rows = []
    for other in others.values():
        if other.segment_id == snapshot.segment_id:
            continue
        a, b = sorted((snapshot, other), key=lambda s: s.segment_id)
        rows.append((a.segment_id, b.segment_id, a.day, b.day, len(a.members & b.members)))
    if rows:
        upsert_set(conn, segment_overlaps, rows, update=("day_a", "day_b", "overlap"))


def overlap_rows(conn: Connection, segment_ids: Iterable[int]) -> list[tuple[int, int, int, int, int]]:
    """(seg_a, seg_b, day_a, day_b, overlap) of the pairs among these segments that share members."""
    ids = list(segment_ids)
    o = segment_overlaps.c
    stmt = select(o.seg_a, o.seg_b, o.day_a, o.day_b, o.overlap).where(
        o.seg_a.in_(ids), o.seg_b.in_(ids), o.overlap > 0
    )
    return [(a, b, day_a, day_b, n) for a, b, day_a, day_b, n in conn.execute(stmt)]


def distinct_members(conn: Connection, latest: Mapping[int, int]) -> int:
    """Distinct profiles over the given (segment -> day) snapshots."""
    if not latest:
        return 0
    m = segment_memberships.c
    keys = or_(*(and_(m.segment_id == s, m.day == d) for s, d in latest.items()))
    return conn.execute(select(func.count(func.distinct(m.profile_id))).where(keys)).scalar_one()


def user_ids_of(conn: Connection, segment_id: int, day: int) -> set[str]:
    m, p = segment_memberships.c, profiles.c
    stmt = (
        select(p.user_id)
        .select_from(segment_memberships.join(profiles, profiles.c.id == m.profile_id))
        .where(m.segment_id == segment_id, m.day == day)
    )
    return set(conn.execute(stmt).scalars())


async def members_on(services: Services, segment_id: int, day: date) -> set[str]:
    """The customer ids (`user_id`) in a segment's snapshot of `day`; empty when that day was not
    computed. For activations: the adds and removes of a sync are the difference of two days.
    The caller has checked the segment is its tenant's (segment ids are global)."""
    return await user_ids_on(services, segment_id, day_number(day))


async def user_ids_on(services: Services, segment_id: int, day: int) -> set[str]:
    """The customer ids of the snapshot of day number `day`, from either store."""
    if (ch := clickhouse_of(services)) is not None:
        members = await asyncio.to_thread(ch_ms.member_ids, ch, segment_id, day)
        async with services.db.aio.connect() as conn:
            return await conn.run_sync(lambda c: user_ids_by_profile(c, members))
    async with events_sql(services).aio.connect() as conn:
        found: set[str] = await conn.run_sync(lambda c: user_ids_of(c, segment_id, day))
    return found


def user_ids_by_profile(conn: Connection, profile_ids: Iterable[int]) -> set[str]:
    """The customer ids of these profiles."""
    ids, found = sorted(profile_ids), set[str]()
    for start in range(0, len(ids), 500):
        stmt = select(profiles.c.user_id).where(profiles.c.id.in_(ids[start : start + 500]))
        found.update(conn.execute(stmt).scalars())
    return found
