"""Writing kept rollups (rollups/clickhouse_kept.py) into the SQL database holding the accounts:
each run of days replaced in one transaction with its stamps, or without them (computed again on
their next read)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, insert
from sqlalchemy.exc import IntegrityError

from analytics_mcp.rollups.clickhouse_kept_verified import Stamp
from analytics_mcp.storage.db import Database
from analytics_mcp.storage.kept_rollups_schema import rollup_stamps
from analytics_mcp.storage.schema import ROLLUP_COUNTERS, rollup_daily, rollup_visitors

_TRIES = 3  # PostgreSQL: two servers writing one day at once; the second retries
DailyRows = dict[tuple[int, int, str], dict[str, Any]]  # (dim, day, value) -> counters
VisitorRows = list[tuple[int, int, str, int, int]]  # (dim, day, value, gap, n)


@dataclass(frozen=True, slots=True)
class DayRows:
    daily: DailyRows
    visitors: VisitorRows


def write_days(
    kept: Database, site_id: int, days: range, rows: DayRows, stamps: Sequence[Stamp] | None
) -> None:
    """Replace the days' rows (and stamps) in one transaction; without stamps the days are
    computed again on their next read. A concurrent writer of the same day (PostgreSQL's unique
    keys) makes this one start again."""
    for attempt in range(_TRIES):
        try:
            with kept.sync.begin() as conn:
                _replace(conn, site_id, days, rows, stamps)
            return
        except IntegrityError:
            if attempt == _TRIES - 1:
                raise


def _replace(
    conn: Connection, site_id: int, days: range, rows: DayRows, stamps: Sequence[Stamp] | None
) -> None:
    for table in (rollup_daily, rollup_visitors, rollup_stamps):
        conn.execute(
            delete(table).where(and_(table.c.site_id == site_id, table.c.day.between(days[0], days[-1])))
        )
    daily = [
        {"site_id": site_id, "dim": dim, "day": day, "value": value, **_counters(counters)}
        for (dim, day, value), counters in rows.daily.items()
    ]
    visitors = [
        {"site_id": site_id, "dim": dim, "day": day, "value": value, "gap": gap, "n": n}
        for dim, day, value, gap, n in rows.visitors
    ]
    for table, batch in ((rollup_daily, daily), (rollup_visitors, visitors)):
        if batch:
            conn.execute(insert(table), batch)
    if stamps is not None:
        conn.execute(insert(rollup_stamps), list(_stamp_rows(site_id, days, stamps)))


def _counters(found: dict[str, Any]) -> dict[str, Any]:
    return {name: found.get(name, 0.0 if name == "revenue" else 0) for name in ROLLUP_COUNTERS}


def _stamp_rows(site_id: int, days: Iterable[int], stamps: Sequence[Stamp]) -> Iterator[dict[str, Any]]:
    names = ("zone", "events_id", "events_version", "visits_id", "visits_version")
    for day, stamp in zip(days, stamps, strict=True):
        yield {"site_id": site_id, "day": day, **dict(zip(names, stamp, strict=True))}


def clear_stamps(kept: Database) -> None:
    """Forget every stamp (after `events copy`: copied rows have version 0, below the stamps)."""
    with kept.sync.begin() as conn:
        conn.execute(delete(rollup_stamps))
