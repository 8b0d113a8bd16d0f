"""A tenant's `total_members`: distinct profiles in at least one active segment's latest snapshot
(docs/platform.md, "Reports"), kept in `segment_totals` so the overview reads one row instead of
counting distinct profiles over a million member rows.

The stored count names the snapshots it was counted over (segment, day, count and computed_at of
each active segment's latest day). A computation stores it for the snapshots it leaves; a reader
whose active segments' latest snapshots spell the same key uses it, and any other reader (after
an archive or a restore, say) counts anew and stores that count, so the answer is always exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import Connection, select
from sqlalchemy.exc import OperationalError

from analytics_mcp.platform import memberships as ms
from analytics_mcp.rollups.upsert import upsert_set
from analytics_mcp.storage.platform_schema import segment_totals

Latest = Mapping[int, tuple[int, int, str]]  # segment id -> (day, member count, computed_at)


def snapshots_key(latest: Latest) -> str:
    return ",".join(f"{sid}:{day}:{count}:{at}" for sid, (day, count, at) in sorted(latest.items()))


def store_total(conn: Connection, tenant_id: int, latest: Latest, total: int) -> None:
    row = (tenant_id, snapshots_key(latest), total)
    upsert_set(conn, segment_totals, [row], update=("snapshots", "total_members"))


def union_size(snapshots: Iterable[frozenset[int]]) -> int:
    return len(frozenset[int]().union(*snapshots))


def total_members(conn: Connection, tenant_id: int, segment_ids: list[int]) -> int:
    """Distinct profiles in the latest snapshots of these (the tenant's active) segments."""
    latest = ms.latest_days(conn, segment_ids)
    if not latest:
        return 0
    key = snapshots_key(latest)
    t = segment_totals.c
    row = conn.execute(select(t.snapshots, t.total_members).where(t.tenant_id == tenant_id)).first()
    if row is not None and row.snapshots == key:
        return int(row.total_members)
    total = ms.distinct_members(conn, {sid: day for sid, (day, _count, _at) in latest.items()})
    try:  # kept for the next reader; a busy database only costs it the count again
        store_total(conn, tenant_id, latest, total)
        conn.commit()
    except OperationalError:
        conn.rollback()
    return total
