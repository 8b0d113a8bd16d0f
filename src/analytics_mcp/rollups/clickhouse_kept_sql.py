"""ClickHouse statements computing a site's rollup rows for local days A..B (docs/rollups.md "Kept
rollups on ClickHouse"): the same numbers the SQL writer and `rollups rebuild` keep, grouped by
ClickHouse and returned as (dim, day, value parts, counters); Python encodes the values.

Local time is ClickHouse's: `toDate(t, zone)` and `toHour(toTimeZone(t, zone))` (checked against
zoneinfo on DST days by the tests). Values come back as Array(Nullable(String)) (HOUR's hour as
text: clickhouse_kept.py turns it back into an int). Parameters: s (site), z (zone), a/b (UTC ms of
A's and B+1's local midnight), m (UTC ms of A-4's local midnight), da/db/dm (the UTC dates of
a, b and m, which bound the events' sort key), first (A as a day number).

`only`: the restriction of a kept subset (docs/rollups.md "Kept subsets"), clickhouse_kept_only.Only.
None: all.
"""

from __future__ import annotations

from analytics_mcp.definitions import PAGEVIEW
from analytics_mcp.rollups.clickhouse_kept_only import LONGEST_VISIT_MS, Only, matching, of_visits, passing
from analytics_mcp.rollups.keys import VISIT_DIM_COLUMNS, Dim
from analytics_mcp.rollups.rebuild_sql import PURCHASE
from analytics_mcp.storage.clickhouse.client import ClickHouseEvents

VALUE = "Array(Nullable(String))"
NO_PARTS = f"CAST([], '{VALUE}')"
PURCHASE_NAME = PURCHASE
# Every UTC offset change of our era falls on a 15-minute boundary (rollups/keys.py): a visit's
# local hours are those of its start, its end and each 15-minute boundary in between.
SLOT_MS = 15 * 60 * 1000


def _day(column: str) -> str:
    return f"toInt32(toDate({column}, {{z:String}}))"


def _ts_range(column: str, low: str, high: str, dates: bool) -> str:
    within = (
        f"{column} >= fromUnixTimestamp64Milli({{{low}:Int64}}) "
        f"AND {column} < fromUnixTimestamp64Milli({{{high}:Int64}})"
    )
    if dates:  # the events' sort key has toDate(ts): bound it too
        within += f" AND toDate({column}) >= {{d{low}:Date}} AND toDate({column}) <= {{d{high}:Date}}"
    return within


def _parts(*columns: str) -> str:
    return "[" + ", ".join(f"CAST({c} AS Nullable(String))" for c in columns) + "]"


def _visit_dims(everyone: bool = True) -> str:
    """[(dim, value parts)] of a visit: ALL (unless not `everyone`) and every visit dimension
    (CAMPAIGN and EXIT always; the caller drops their empty values, as keys.visit_dim_value does)."""
    pairs = [f"(toUInt8({int(Dim.ALL)}), {NO_PARTS})"] if everyone else []
    pairs += [f"(toUInt8({int(dim)}), {_parts(*columns)})" for dim, columns in VISIT_DIM_COLUMNS.items()]
    return "[" + ", ".join(pairs) + "]"


def _counted(dim_value: str) -> str:
    """Whether a (dim, value) pair is counted: CAMPAIGN needs one UTM field, EXIT an exit path."""
    return (
        f"NOT ({dim_value}.1 = {int(Dim.CAMPAIGN)} AND arrayAll(x -> x IS NULL, {dim_value}.2)) "
        f"AND NOT ({dim_value}.1 = {int(Dim.EXIT)} AND {dim_value}.2[1] IS NULL)"
    )


def visit_counters_sql(store: ClickHouseEvents, only: Only | None = None) -> str:
    """rollup_daily's visit counters of ALL and the visit dimensions, by local start day."""
    return f"""
        SELECT dv.1 AS dim, day, dv.2 AS value, count(), sum(bounce), sum(duration), sum(pageviews)
        FROM (
            SELECT {_day("started_at")} AS day, pageviews = 1 AND interactions = 0 AS bounce,
                if(bounce, 0, toUnixTimestamp64Milli(ended_at) - toUnixTimestamp64Milli(started_at))
                    AS duration,
                pageviews, {_visit_dims()} AS dims
            FROM {store.table("visits")} FINAL
            WHERE site_id = {{s:UInt32}} AND {_ts_range("started_at", "a", "b", False)}{passing(store, only)}
        ) ARRAY JOIN dims AS dv
        WHERE {_counted("dv")}
        GROUP BY dim, day, value"""


def pageview_counters_sql(store: ClickHouseEvents, only: Only | None = None) -> str:
    """Pageviews (ALL, HOUR, PAGE) by local event time; PAGE with time on page (the sum and count of
    coalesce(engaged_ms, gap_ms) where not null)."""
    page = (
        f"[(toUInt8({int(Dim.ALL)}), {NO_PARTS}), "
        f"(toUInt8({int(Dim.HOUR)}), {_parts('toString(hour)')}), "
        f"(toUInt8({int(Dim.PAGE)}), {_parts('pathname')})]"
    )
    return f"""
        SELECT dv.1 AS dim, day, dv.2 AS value, count(),
            sumIf(top, dim = {int(Dim.PAGE)}), countIf(top IS NOT NULL AND dim = {int(Dim.PAGE)})
        FROM (
            SELECT {_day("ts")} AS day, toHour(toTimeZone(ts, {{z:String}})) AS hour, pathname,
                coalesce(engaged_ms, gap_ms) AS top
            FROM {store.table("events")} FINAL
            WHERE site_id = {{s:UInt32}} AND name = '{PAGEVIEW}' AND {_ts_range("ts", "a", "b", True)}
                {matching(store, only)}
        ) ARRAY JOIN {page} AS dv
        GROUP BY dim, day, value"""


def goal_counters_sql(store: ClickHouseEvents, only: Only | None = None) -> str:
    return f"""
        SELECT toUInt8({int(Dim.GOAL)}), {_day("ts")} AS day, {_parts("goal_id")} AS value, count()
        FROM {store.table("goal_completions")} FINAL
        WHERE site_id = {{s:UInt32}} AND {_ts_range("ts", "a", "b", False)}
            {of_visits(store, "visit_id", only)}
        GROUP BY day, value"""


def purchase_counters_sql(store: ClickHouseEvents, only: Only | None = None) -> str:
    """PURCHASE (currency) and SOURCE_REVENUE (the purchase's visit's source, currency): count and
    revenue (null adds 0); SOURCE_REVENUE only for purchases whose visit is stored (an inner join
    in SQL)."""
    return f"""
        SELECT dv.1 AS dim, day, dv.2 AS value, count(), sum(revenue)
        FROM (
            SELECT {_day("e.ts")} AS day, coalesce(e.revenue, 0.0) AS revenue,
                arrayConcat([(toUInt8({int(Dim.PURCHASE)}), {_parts("e.currency")})],
                    if(v.id = 0, [],  -- no stored visit (LEFT JOIN's default row)
                       [(toUInt8({int(Dim.SOURCE_REVENUE)}), {_parts("v.source", "e.currency")})])) AS dims
            FROM {store.table("events")} AS e FINAL
            LEFT JOIN (
                SELECT id, source FROM {store.table("visits")} FINAL WHERE site_id = {{s:UInt32}}
                AND id IN (
                    SELECT visit_id FROM {store.table("events")} WHERE site_id = {{s:UInt32}}
                    AND name = '{PURCHASE_NAME}' AND {_ts_range("ts", "a", "b", True)}
                )
            ) AS v ON v.id = e.visit_id
            WHERE e.site_id = {{s:UInt32}} AND e.name = '{PURCHASE_NAME}'
                AND {_ts_range("e.ts", "a", "b", True)}{of_visits(store, "e.visit_id", only)}
        ) ARRAY JOIN dims AS dv
        GROUP BY dim, day, value"""


def item_counters_sql(store: ClickHouseEvents, only: Only | None = None) -> str:
    """ITEM (item name, currency): revenue = sum(price x quantity), quantity, orders; ITEM_EVENTS
    (currency): the purchases carrying items of that currency. With `only`, items of the passing
    visits' purchases (items carry no visit)."""
    purchases = (
        ""
        if only is None
        else f" AND event_id IN (SELECT id FROM {store.table('events')} WHERE site_id = {{s:UInt32}} "
        f"AND name = '{PURCHASE_NAME}' AND {_ts_range('ts', 'a', 'b', True)}"
        f"{of_visits(store, 'visit_id', only)})"
    )
    return f"""
        SELECT dv.1 AS dim, day, dv.2 AS value, sumIf(amount, dim = {int(Dim.ITEM)}),
            sumIf(quantity, dim = {int(Dim.ITEM)}), uniqExact(event_id)
        FROM (
            SELECT {_day("ts")} AS day, price * quantity AS amount, quantity, event_id,
                [(toUInt8({int(Dim.ITEM)}), {_parts("item_name", "currency")}),
                 (toUInt8({int(Dim.ITEM_EVENTS)}), {_parts("currency")})] AS dims
            FROM {store.table("ecommerce_items")} FINAL
            WHERE site_id = {{s:UInt32}} AND event_name = '{PURCHASE_NAME}'
                AND {_ts_range("ts", "a", "b", False)}{purchases}
        ) ARRAY JOIN dims AS dv
        GROUP BY dim, day, value"""


def _present(store: ClickHouseEvents, ts: str) -> str:
    """A row from A on, or of a visitor present in A..B: marks before A only serve as previous
    marks of A..B's (visitor ids change daily, so most of the four days before are left out).
    Every visitor with a mark in A..B has a visit overlapping A..B; read without FINAL, the set
    can only hold more ids (a visit's older versions), never fewer."""
    visitors = (
        f"SELECT visitor_id FROM {store.table('visits')} WHERE site_id = {{s:UInt32}} "
        "AND ended_at >= fromUnixTimestamp64Milli({a:Int64}) "
        "AND started_at < fromUnixTimestamp64Milli({b:Int64})"
    )
    return f"({ts} >= fromUnixTimestamp64Milli({{a:Int64}}) OR visitor_id IN ({visitors}))"


def _pages_counted(only: Only | None) -> bool:
    """Whether the subset's ALL and HOUR visitor marks are its matching pageviews' (a page filter),
    not its visits'."""
    return only is not None and only.pages is not None


def _visit_marks(store: ClickHouseEvents, only: Only | None) -> str:
    """(visitor_id, dim, value, day) of the visits spanning local days A-4..B: ALL on every day it
    spans, HOUR on every local hour (unless the pageviews give those), the visit dimensions on its
    start day."""
    instants = (
        "arrayConcat([s_ms, e_ms], arrayMap(k -> k * "
        f"{SLOT_MS}, range(intDiv(s_ms, {SLOT_MS}) + 1, intDiv(e_ms, {SLOT_MS}) + 1)))"
    )
    local_hour = "toNullable(toString(toHour(toTimeZone(t, {z:String}))))"
    hour_marks = (
        f"arrayMap(t -> (toUInt8({int(Dim.HOUR)}), [{local_hour}], toInt32(toDate(t, {{z:String}}))), "
        f"arrayMap(ms -> fromUnixTimestamp64Milli(ms), {instants}))"
    )
    by_pageviews = _pages_counted(only)
    dims = _visit_dims(everyone=not by_pageviews)
    spans = (
        ""
        if by_pageviews
        else f"""arrayMap(d -> (toUInt8({int(Dim.ALL)}), {NO_PARTS}, d),
                        range(start_day, toInt32(toDate(ended_at, {{z:String}})) + 1)),
                    {hour_marks},"""
    )
    return f"""
        SELECT visitor_id, m.1 AS dim, m.2 AS value, m.3 AS day FROM (
            SELECT visitor_id, toUnixTimestamp64Milli(started_at) AS s_ms,
                toUnixTimestamp64Milli(ended_at) AS e_ms, {_day("started_at")} AS start_day,
                arrayConcat(
                    {spans}
                    arrayMap(p -> (p.1, p.2, start_day), arrayFilter(dv -> {_counted("dv")}, {dims}))
                ) AS marks
            FROM {store.table("visits")} FINAL
            WHERE site_id = {{s:UInt32}} AND ended_at >= fromUnixTimestamp64Milli({{m:Int64}})
                AND started_at >= fromUnixTimestamp64Milli({{m:Int64}} - {LONGEST_VISIT_MS})
                AND started_at < fromUnixTimestamp64Milli({{b:Int64}}) AND {_present(store, "ended_at")}
                {passing(store, only)}
        ) ARRAY JOIN marks AS m"""


def _event_marks(store: ClickHouseEvents, only: Only | None) -> str:
    """PAGE (pageviews by path), BUYERS (purchases) and GOAL (completions) marks: rows never change
    those columns when rewritten, so duplicates only repeat a mark (no FINAL needed)."""
    goals = f"""
        SELECT visitor_id, toUInt8({int(Dim.GOAL)}), {_parts("goal_id")}, {_day("ts")}
        FROM {store.table("goal_completions")}
        WHERE site_id = {{s:UInt32}} AND {_ts_range("ts", "m", "b", False)} AND {_present(store, "ts")}
            {of_visits(store, "visit_id", only)}"""
    if _pages_counted(only):
        return f"{_matching_marks(store, only)} UNION ALL {goals}"
    return f"""
        SELECT visitor_id,
            if(name = '{PAGEVIEW}', toUInt8({int(Dim.PAGE)}), toUInt8({int(Dim.BUYERS)})) AS dim,
            if(name = '{PAGEVIEW}', {_parts("pathname")}, {NO_PARTS}) AS value, {_day("ts")} AS day
        FROM {store.table("events")}
        WHERE site_id = {{s:UInt32}} AND name IN ('{PAGEVIEW}', '{PURCHASE_NAME}')
            AND {_ts_range("ts", "m", "b", True)} AND {_present(store, "ts")}
            {of_visits(store, "visit_id", only)}
        UNION ALL {goals}"""


def _matching_marks(store: ClickHouseEvents, only: Only | None) -> str:
    """Under page filters: PAGE, ALL and HOUR marks of the matching pageviews, BUYERS of the
    passing visits' purchases (the pageviews and the purchases are restricted apart)."""
    hour = _parts("toString(toHour(toTimeZone(ts, {z:String})))")
    marks = (
        f"[(toUInt8({int(Dim.PAGE)}), {_parts('pathname')}), (toUInt8({int(Dim.ALL)}), {NO_PARTS}), "
        f"(toUInt8({int(Dim.HOUR)}), {hour})]"
    )
    return f"""
        SELECT visitor_id, pm.1, pm.2, day FROM (
            SELECT visitor_id, {_day("ts")} AS day, {marks} AS marks
            FROM {store.table("events")}
            WHERE site_id = {{s:UInt32}} AND name = '{PAGEVIEW}' AND {_ts_range("ts", "m", "b", True)}
                AND {_present(store, "ts")}{matching(store, only)}
        ) ARRAY JOIN marks AS pm
        UNION ALL
        SELECT visitor_id, toUInt8({int(Dim.BUYERS)}), {NO_PARTS}, {_day("ts")}
        FROM {store.table("events")}
        WHERE site_id = {{s:UInt32}} AND name = '{PURCHASE_NAME}' AND {_ts_range("ts", "m", "b", True)}
            AND {_present(store, "ts")}{of_visits(store, "visit_id", only)}"""


def visitors_sql(store: ClickHouseEvents, only: Only | None = None) -> str:
    """rollup_visitors of days A..B: each distinct mark (visitor, dim, value, day) with gap = day
    minus the day of the same (visitor, dim, value)'s previous mark, 0 for none; marks are read
    from A-4 on, which holds every previous mark of a day in A..B (a visitor id's events lie
    within 48 hours: four local days at most)."""
    return f"""
        SELECT dim, md.1 AS day, value, md.2 AS gap, count()
        FROM (
            SELECT dim, value, arraySort(groupUniqArray(day)) AS days,
                arrayZip(days, arrayDifference(days)) AS with_gaps  -- the first gap is 0
            FROM ({_visit_marks(store, only)} UNION ALL {_event_marks(store, only)})
            WHERE day >= {{first:Int32}} - 4 AND day < {{stop:Int32}}
            GROUP BY visitor_id, dim, value
        ) ARRAY JOIN with_gaps AS md
        WHERE md.1 >= {{first:Int32}}
        GROUP BY dim, day, value, gap"""
