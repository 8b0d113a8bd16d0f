"""The export's reads when the events are in ClickHouse: the same chunks, visits and items as
`queries.py` reads in SQL, value for value (times as epoch ms, time on page rounded the same way),
so the writers turn them into the same bytes.

A chunk is `... WHERE (ts, id) after the position ORDER BY ts, id LIMIT n`, read with FINAL (a
pageview is stored again when its gap or engaged time arrives; FINAL keeps its newest row). The
sort key is (site_id, day, name, ts, id), so the site, the range and the event name prune the
parts and granules, and LIMIT keeps only the first n rows of what is left.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from analytics_mcp.definitions import ECOMMERCE_EVENTS
from analytics_mcp.engine.store.clickhouse_scope import FINAL_SETTINGS, MAX_MS
from analytics_mcp.export.queries import ItemsByEvent, Position, items_by_event
from analytics_mcp.storage.clickhouse import ClickHouseEvents

Rows = list[tuple[Any, ...]]
FIRST_WINDOW_MS = 86_400_000  # a chunk's first time window (then twice the last chunk's span)
MIN_WINDOW_MS = 1000
WINDOW_GROWTH = 4  # a window short of rows: the next one is this much longer

# Per table: its alias, what a chunk selects (queries.py's columns, in order) and its own condition.
_DURATION = "intDiv(coalesce(e.engaged_ms, e.gap_ms) + 500, 1000)"  # queries.DURATION
_CHUNKS: dict[str, tuple[str, str, str]] = {
    "pageviews": (
        "events",
        f"e.visit_id, e.hostname, e.pathname, {_DURATION}, e.scroll_depth, e.props",
        "e.name = 'pageview'",
    ),
    "ecommerce_events": (
        "events",
        "e.visitor_id, e.visit_id, e.name, e.transaction_id, e.revenue, e.currency, e.site_id",
        "e.name IN {names:Array(String)}",
    ),
    "goal_completions": (
        "goal_completions",
        "e.goal_id, e.visitor_id, e.event_id, e.visit_id, e.site_id",
        "1",
    ),
}
_VISIT_COLUMNS = (
    "id, visitor_id, site_id, device_type, entry_path, referrer, source, channel, utm_source, "
    "utm_medium, utm_campaign, utm_content, utm_term, browser, os, language, country"
)  # queries._VISIT_COLUMNS


def _time(name: str) -> str:
    return f"fromUnixTimestamp64Milli({{{name}:Int64}}, 'UTC')"


class ClickHouseExportReads:
    """The reads of one export of these sites (`visit_rows` and `items_of` as in stream.RowReads)."""

    def __init__(self, events: ClickHouseEvents, site_ids: Sequence[int]) -> None:
        self.events = events
        self.sites = list(site_ids)
        self._window = FIRST_WINDOW_MS

    def _rows(self, sql: str, parameters: dict[str, Any]) -> Rows:
        found = self.events.rows(sql, {"sites": self.sites, **parameters}, FINAL_SETTINGS)
        return [tuple(row) for row in found]

    def chunk(self, table: str, after: Position, start_ms: int, end_ms: int, size: int) -> Rows:
        """Up to `size` rows of the exported table after `after` within [start_ms, end_ms), in
        (ts, id) order: (ts in ms, id, the table's columns as queries.py selects them).

        Read through a time window after the position that grows until it holds `size` rows or
        reaches the end: ClickHouse sorts every row a read's range holds, so a read up to the
        range's end would cost more the longer the rest of the range (390 ms for the first
        chunk of 90 days at 1M events, 29 ms for the last). The next window starts at what the
        last chunk spanned."""
        lo, hi = max(start_ms, after.ts, 0), min(end_ms, MAX_MS + 1)
        if lo >= hi or size <= 0:
            return []  # also keeps every time inside DateTime64's range
        rows: Rows = []
        window = self._window
        while True:
            upper = min(hi, lo + window)
            rows += self._after(table, after, lo, upper, size - len(rows))
            if len(rows) >= size or upper >= hi:
                break
            if rows:
                after = Position(rows[-1][0], rows[-1][1])
                lo = max(lo, after.ts)
            window *= WINDOW_GROWTH
        if len(rows) == size:
            self._window = max(MIN_WINDOW_MS, 2 * (rows[-1][0] - rows[0][0]))
        return rows

    def _after(self, table: str, after: Position, lo: int, hi: int, size: int) -> Rows:
        source, columns, condition = _CHUNKS[table]
        sql = (
            f"SELECT toUnixTimestamp64Milli(e.ts), e.id, {columns} FROM {self.events.table(source)} "
            f"AS e FINAL WHERE e.site_id IN {{sites:Array(UInt32)}} AND {condition} "
            f"AND e.ts >= {_time('lo')} AND e.ts < {_time('hi')} "
            f"AND (e.ts > {_time('ts')} OR e.id > {{id:Int64}}) ORDER BY e.ts, e.id LIMIT {int(size)}"
        )
        parameters = {"lo": lo, "hi": hi, "ts": after.ts, "id": after.id, "names": sorted(ECOMMERCE_EVENTS)}
        return self._rows(sql, parameters)

    def visit_rows(self, visit_ids: Sequence[int]) -> Rows:
        """The exported attributes of these visits, in queries._VISIT_COLUMNS order (any order of
        rows, as there)."""
        if not visit_ids:
            return []
        sql = (
            f"SELECT {_VISIT_COLUMNS} FROM {self.events.table('visits')} FINAL "
            "WHERE site_id IN {sites:Array(UInt32)} AND id IN {ids:Array(Int64)}"
        )
        return self._rows(sql, {"ids": list(visit_ids)})

    def items_of(self, rows: Sequence[tuple[Any, ...]]) -> ItemsByEvent:
        """The products of these e-commerce rows ((ts, id, ...)), by event id, in the order they
        were sent (an item has its event's time, so the rows' time span bounds the read)."""
        if not rows:
            return {}
        sql = (
            "SELECT event_id, item_id, item_name, price, quantity "
            f"FROM {self.events.table('ecommerce_items')} FINAL WHERE site_id IN {{sites:Array(UInt32)}} "
            f"AND ts >= {_time('lo')} AND ts <= {_time('hi')} AND event_id IN {{ids:Array(Int64)}} "
            "ORDER BY event_id, id"
        )
        span = {"lo": min(row[0] for row in rows), "hi": max(row[0] for row in rows)}
        return items_by_event(self._rows(sql, {**span, "ids": [row[1] for row in rows]}))
