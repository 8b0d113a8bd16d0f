"""Events counted per site and UTC day on ClickHouse, kept for days that are over (the overview's
`events_30d`, usage and the events quota: storage/event_counts.py; docs/platform.md).

The exact count is `count()` over `events FINAL` (a rewritten or re-sent row counts once), which
merges every row of the range: ~0.45 s of CPU for 2.4 M events. A day's count only changes when an
event with a new id lands in it (rows are never deleted; a rewrite keeps its id and time), and a
new event's id is above every stored id (the writer allocates past the largest, `events copy`
goes in id order). So each (site, day) count is stored with the day's largest id, and is valid
while that largest id is unchanged; the largest id per (site, day) is read from the `day_tops`
projection of `max(id), max(version)` (day_tops.py; a few rows per part, exact under duplicates: max
ignores a repeated row). A late event raises its day's largest id, and that day alone is counted
again.

Order matters: the largest id is read before the count, so a count never misses an event whose id
it claims to cover (an event stored in between raises the day's largest id past the kept one).
"A new event's id is above every stored id" fails while a writer's batch is planned and not yet
stored (after a crash, another server may store a later batch into the same day before this one
is stored again), so a count is kept only when the writers' bookkeeping (`ingest_spool`) shows no
batch pending and nothing planned or stored while the day was read and counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from analytics_mcp.definitions import ENGAGEMENT
from analytics_mcp.storage.clickhouse.client import ClickHouseEvents
from analytics_mcp.timeutil import DAY_MS

# Schema: ClickHouse steps 7 and 9 (schema.py); the cluster variant in cluster.py.
# A projection on a ReplacingMergeTree must say what merges do with it: rebuild it from the rows kept.
PROJECTION_MODE = "deduplicate_merge_projection_mode = 'rebuild'"
# The row with the largest max_id wins a merge: it covers the most events.
EVENT_DAY_COUNTS = "site_id UInt32, day Date, events UInt64, max_id Int64"
EVENT_DAY_COUNTS_ENGINE = "ReplacingMergeTree(max_id) ORDER BY (site_id, day)"
STEP_NAME = "events: a projection of each (site, UTC day)'s largest id; event_day_counts (events_30d)"
# Step 7 as it was applied: its projection `day_max_id` is dropped again by step 9.
STEP_STATEMENTS = (
    f"ALTER TABLE {{db}}.events MODIFY SETTING {PROJECTION_MODE}",
    "ALTER TABLE {db}.events ADD PROJECTION IF NOT EXISTS "
    "day_max_id (SELECT site_id, toDate(ts), max(id) GROUP BY site_id, toDate(ts))",
    "ALTER TABLE {db}.events MATERIALIZE PROJECTION day_max_id SETTINGS mutations_sync = 2",
    f"CREATE TABLE IF NOT EXISTS {{db}}.event_day_counts ({EVENT_DAY_COUNTS}) "
    f"ENGINE = {EVENT_DAY_COUNTS_ENGINE}",
)
# Step 9: `day_tops` (step 8: max(id), max(version) per site and UTC day) answers the largest-id
# read as well, and every insert built both projections (the same key, one more aggregate).
DROP_STEP_NAME = "events: drop the day_max_id projection (day_tops answers its reads)"
DROP_STEP_STATEMENTS = ("ALTER TABLE {db}.events DROP PROJECTION IF EXISTS day_max_id",)

Key = tuple[int, date]
_EPOCH = date(1970, 1, 1)


def _day(ms: int) -> date:
    return _EPOCH + timedelta(days=ms // DAY_MS)


def count(store: ClickHouseEvents, site_ids: Sequence[int], start_ms: int, end_ms: int, now_ms: int) -> int:
    """Events (engagement reports aside) of these sites with start_ms <= ts < end_ms. Whole UTC days
    come from kept counts (counted again when their largest id moved); the part days at the ends
    are counted live. Days from the one holding `now_ms` on are never kept (they still grow)."""
    if not site_ids or start_ms >= end_ms:
        return 0
    first, stop = _day(start_ms + DAY_MS - 1), _day(end_ms)  # whole days: first <= day < stop
    if first >= stop:
        return _live(store, site_ids, start_ms, end_ms, [_day(start_ms), _day(end_ms - 1)])
    ends = [d for d, partial in ((_day(start_ms), start_ms % DAY_MS), (stop, end_ms % DAY_MS)) if partial]
    return _live(store, site_ids, start_ms, end_ms, ends) + _whole_days(
        store, site_ids, first, stop, _day(now_ms)
    )


def _whole_days(
    store: ClickHouseEvents, site_ids: Sequence[int], first: date, stop: date, today: date
) -> int:
    params = {"s": list(site_ids), "a": first, "b": stop}
    tops = _day_tops(store, params)
    kept: dict[Key, tuple[int, int]] = {
        (int(s), d): (int(n), int(m))
        for s, d, n, m in store.rows(
            f"SELECT site_id, day, events, max_id FROM {store.table('event_day_counts')} FINAL "
            "WHERE site_id IN {s:Array(UInt32)} AND day >= {a:Date} AND day < {b:Date}",
            params,
        )
    }
    total = sum(kept[key][0] for key, top in tops.items() if key in kept and kept[key][1] == top)
    stale = [key for key, top in tops.items() if key not in kept or kept[key][1] != top]
    if stale:
        before = writers_mark(store)
        may_keep = before[1] == 0
        if may_keep:
            tops = _day_tops(store, params)  # read again after the mark: what the count covers
        counted = _count_days(store, stale)
        total += sum(counted.values())
        done = [(s, d, counted.get((s, d), 0), tops[(s, d)]) for s, d in stale if d < today]
        if done and may_keep and writers_mark(store) == before:
            store.insert("event_day_counts", done, ("site_id", "day", "events", "max_id"))
    return total


def _day_tops(store: ClickHouseEvents, params: dict[str, object]) -> dict[Key, int]:
    """The largest id of each (site, UTC day) in [a, b): max(id) grouped by the key of the
    projection `day_tops` (day_tops.py), no FINAL, so ClickHouse reads the projection."""
    rows = store.rows(
        f"SELECT site_id, toDate(ts) AS d, max(id) FROM {store.table('events')} "
        "WHERE site_id IN {s:Array(UInt32)} AND toDate(ts) >= {a:Date} AND toDate(ts) < {b:Date} "
        "GROUP BY site_id, d",
        params,
    )
    return {(int(s), d): int(m) for s, d, m in rows}


def writers_mark(store: ClickHouseEvents) -> tuple[int, int]:
    """(the sum of each spool's latest seq, spools whose latest batch is planned and not stored)
    in ingest_spool: a spool's seq only grows (merges keep its largest), so an equal mark before
    and after a count, with nothing pending, means no batch was planned or stored in between."""
    row = store.rows(
        "SELECT sum(last), countIf(last % 2 = 0) FROM "
        f"(SELECT max(seq) AS last FROM {store.table('ingest_spool')} GROUP BY name)"
    )[0]
    return int(row[0] or 0), int(row[1] or 0)


def _count_days(store: ClickHouseEvents, keys: list[Key]) -> dict[Key, int]:
    """The exact count of each (site, day), in one statement."""
    rows = store.rows(
        f"SELECT site_id, toDate(ts) AS d, count() FROM {store.table('events')} FINAL "
        "WHERE site_id IN {s:Array(UInt32)} AND toDate(ts) IN {d:Array(Date)} "
        "AND (site_id, toDate(ts)) IN {k:Array(Tuple(UInt32, Date))} "
        f"AND name != '{ENGAGEMENT}' GROUP BY site_id, d",
        {"s": sorted({s for s, _ in keys}), "d": sorted({d for _, d in keys}), "k": keys},
    )
    return {(int(s), d): int(n) for s, d, n in rows}


def _live(
    store: ClickHouseEvents, site_ids: Sequence[int], start_ms: int, end_ms: int, days: list[date]
) -> int:
    """The exact count of [start_ms, end_ms) within these days (toDate(ts) is in the sort key, so
    the day bounds what is read; the range alone would read every name of the whole range)."""
    if not days:
        return 0
    rows = store.rows(
        f"SELECT count() FROM {store.table('events')} FINAL WHERE site_id IN {{s:Array(UInt32)}} "
        "AND toDate(ts) IN {d:Array(Date)} "
        "AND ts >= fromUnixTimestamp64Milli({a:Int64}) AND ts < fromUnixTimestamp64Milli({b:Int64}) "
        f"AND name != '{ENGAGEMENT}'",
        {"s": list(site_ids), "d": sorted(set(days)), "a": start_ms, "b": end_ms},
    )
    return int(rows[0][0])
