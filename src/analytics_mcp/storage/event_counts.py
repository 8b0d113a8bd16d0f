"""How many events a set of sites stored in a time range: the number plan quotas and the
platform overview count (docs/platform.md). Engagement reports are measurements of a pageview,
not events of their own, so they are not counted.

The same count on SQL (events by (site_id, ts), an index range per site) and on ClickHouse
(FINAL: a row written again counts once).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, func, select

from analytics_mcp.definitions import ENGAGEMENT
from analytics_mcp.storage.clickhouse import ClickHouseEvents
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


def _clickhouse_sql(store: ClickHouseEvents) -> str:
    return (
        f"SELECT count() FROM {store.table('events')} FINAL WHERE site_id IN {{s:Array(UInt32)}} "
        "AND ts >= fromUnixTimestamp64Milli({a:Int64}) AND ts < fromUnixTimestamp64Milli({b:Int64}) "
        f"AND name != '{ENGAGEMENT}'"
    )


def count_clickhouse(store: ClickHouseEvents, site_ids: Sequence[int], start_ms: int, end_ms: int) -> int:
    if not site_ids:
        return 0
    rows = store.rows(_clickhouse_sql(store), {"s": list(site_ids), "a": start_ms, "b": end_ms})
    return int(rows[0][0])
