"""How many events a set of sites stored in a time range: the number plan quotas and the
platform overview count (docs/platform.md). Engagement reports are measurements of a pageview,
not events of their own, so they are not counted.

The same count on SQL (events by (site_id, ts), an index range per site) and on ClickHouse
(FINAL: a row written again counts once; whole UTC days from kept counts, checked against the
day's largest event id: storage/clickhouse/day_counts.py).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import Connection, func, select

from analytics_mcp.definitions import ENGAGEMENT
from analytics_mcp.storage.clickhouse import ClickHouseEvents, day_counts
from analytics_mcp.storage.schema import events


def count_sql(conn: Connection, site_ids: Sequence[int], start_ms: int, end_ms: int) -> int:
    """Events of these sites with start_ms <= ts < end_ms: all rows less the engagement reports,
    two counts that each read an index alone ((site_id, ts) and (site_id, name, ts)) where
    `name != ...` would read every row of the range from the table."""
    if not site_ids:
        return 0
    in_range = (events.c.site_id.in_(list(site_ids)), events.c.ts >= start_ms, events.c.ts < end_ms)
    rows = conn.execute(select(func.count()).where(*in_range)).scalar_one()
    reports = conn.execute(select(func.count()).where(*in_range, events.c.name == ENGAGEMENT)).scalar_one()
    return int(rows) - int(reports)


def count_clickhouse(
    store: ClickHouseEvents, site_ids: Sequence[int], start_ms: int, end_ms: int, now_ms: int | None = None
) -> int:
    """The same count from kept per-day counts (storage/clickhouse/day_counts.py); `now_ms` (the
    clock by default) only decides which days are over and may be kept."""
    return day_counts.count(
        store, site_ids, start_ms, end_ms, int(time.time() * 1000) if now_ms is None else now_ms
    )
