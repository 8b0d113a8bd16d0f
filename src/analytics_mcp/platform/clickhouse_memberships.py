"""Membership snapshots in ClickHouse (docs/platform.md, "Segments on ClickHouse"): what
memberships.py does in SQL, over the tables of ClickHouse step 4.

A computation of a (segment, day) inserts its members under a new `run`, then the day's row in
`segment_days` naming that run (ReplacingMergeTree(run): FINAL keeps the latest). Readers take a
day's run from `segment_days` and the members of exactly that run, so a recomputed day replaces
the earlier one at once and the members of a run that was never recorded (a computation stopped
between its two inserts) are never read. The replaced runs' rows are deleted afterwards, for all
the computed segments at once; the reads never depend on that.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from analytics_mcp.storage.clickhouse import ClickHouseEvents

log = logging.getLogger("analytics_mcp.platform")

CHUNK = 100_000  # member rows per insert (each with its own deduplication token)
SNAPSHOT = "Array(Tuple(UInt32, Int32, UInt64))"  # (segment, day, run) of the snapshots read


def new_run() -> int:
    """A run id above every earlier one of this clock (nanoseconds)."""
    return time.time_ns()


def replace_day(
    events: ClickHouseEvents, segment_id: int, day: int, members: Iterable[int], computed_at: str, run: int
) -> None:
    """Store a day's members under `run` and record it as the day's snapshot (rows of earlier runs
    stay until `forget_other_runs`; no reader reads them)."""
    ids = sorted(members)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        n = len(chunk)  # columns as they are: no tuple per row to build and transpose
        events.insert_columns(
            "segment_memberships",
            ([segment_id] * n, [day] * n, chunk, [run] * n),
            ("segment_id", "day", "profile_id", "run"),
            f"segment:{segment_id}:{day}:{run}:{start}",
        )
    columns = ("segment_id", "day", "member_count", "computed_at", "run")
    events.insert("segment_days", [(segment_id, day, len(ids), computed_at, run)], columns)


def forget_other_runs(events: ClickHouseEvents, day: int, runs: Mapping[int, int]) -> None:
    """Delete the day's member rows of runs other than `runs` (segment -> its recorded run): one
    lightweight DELETE for all the segments, and none when there is nothing to delete (a day's
    first computation)."""
    if not runs:
        return
    where = (
        "segment_id IN {s:Array(UInt32)} AND day = {d:Int32} "
        "AND (segment_id, run) NOT IN {kept:Array(Tuple(UInt32, UInt64))}"
    )
    params = {"s": sorted(runs), "d": day, "kept": sorted(runs.items())}
    table = events.table("segment_memberships")
    if not int(events.rows(f"SELECT count() FROM {table} WHERE {where}", params)[0][0]):
        return
    try:
        events.command(f"DELETE FROM {table} WHERE {where}", params)
    except Exception:  # e.g. a Distributed table (cluster): the rows stay, unread
        log.warning("could not delete replaced memberships of day %s", day, exc_info=True)


def recorded_days(
    events: ClickHouseEvents, segment_ids: Sequence[int], first: int, last: int
) -> list[tuple[int, int, int]]:
    """(segment, day, member count) of every computed day in [first, last], by segment then day."""
    sql = (
        f"SELECT segment_id, day, member_count FROM {events.table('segment_days')} FINAL "
        "WHERE segment_id IN {ids:Array(UInt32)} AND day >= {first:Int32} AND day <= {last:Int32} "
        "ORDER BY segment_id, day"
    )
    rows = events.rows(sql, {"ids": list(segment_ids), "first": first, "last": last})
    return [(int(s), int(d), int(n)) for s, d, n in rows]


def latest_runs(events: ClickHouseEvents, segment_ids: Sequence[int]) -> dict[int, tuple[int, int, str, int]]:
    """segment id -> (latest computed day, its member count, when computed, its run)."""
    if not segment_ids:
        return {}
    sql = (
        "SELECT segment_id, max(day), argMax(member_count, day), argMax(computed_at, day), argMax(run, day) "
        f"FROM {events.table('segment_days')} FINAL WHERE segment_id IN {{ids:Array(UInt32)}} "
        "GROUP BY segment_id"
    )
    rows = events.rows(sql, {"ids": list(segment_ids)})
    return {int(s): (int(d), int(n), str(at), int(run)) for s, d, n, at, run in rows}


def latest_days(events: ClickHouseEvents, segment_ids: Sequence[int]) -> dict[int, tuple[int, int, str]]:
    """segment id -> (latest computed day, its member count, when it was computed)."""
    return {s: (day, n, at) for s, (day, n, at, _run) in latest_runs(events, segment_ids).items()}


def day_run(events: ClickHouseEvents, segment_id: int, day: int) -> int | None:
    sql = (
        f"SELECT run FROM {events.table('segment_days')} FINAL "
        "WHERE segment_id = {s:UInt32} AND day = {d:Int32}"
    )
    rows = events.rows(sql, {"s": segment_id, "d": day})
    return int(rows[0][0]) if rows else None


def _of_snapshots() -> str:
    """The rows of the given (segment, day, run) snapshots; the segment and day lists first, so
    the sort key (segment_id, day, profile_id) prunes before the run is checked."""
    return (
        "segment_id IN {segments:Array(UInt32)} AND day IN {days:Array(Int32)} "
        f"AND (segment_id, day, run) IN {{snapshots:{SNAPSHOT}}}"
    )


def _snapshot_params(snapshots: Sequence[tuple[int, int, int]]) -> dict[str, Any]:
    return {
        "segments": sorted({s for s, _d, _r in snapshots}),
        "days": sorted({d for _s, d, _r in snapshots}),
        "snapshots": list(snapshots),
    }


def member_ids(events: ClickHouseEvents, segment_id: int, day: int) -> frozenset[int]:
    """The profile ids of a day's recorded snapshot (empty when the day was not computed)."""
    run = day_run(events, segment_id, day)
    if run is None:
        return frozenset()
    sql = f"SELECT profile_id FROM {events.table('segment_memberships')} WHERE {_of_snapshots()}"
    return frozenset(int(row[0]) for row in events.rows(sql, _snapshot_params([(segment_id, day, run)])))


def _latest_snapshots(events: ClickHouseEvents, segment_ids: Sequence[int]) -> list[tuple[int, int, int]]:
    return [(s, day, run) for s, (day, _n, _at, run) in latest_runs(events, segment_ids).items()]


def overlap_counts(
    events: ClickHouseEvents, segment_ids: Sequence[int]
) -> list[tuple[int, int, int, int, int]]:
    """(seg_a, seg_b, overlap, members of a, members of b) of the pairs (a < b) among these
    segments whose latest snapshots share members: one exact bitmap of profile ids per snapshot,
    then the size of each pair's intersection."""
    latest = latest_runs(events, segment_ids)
    if len(latest) < 2:
        return []
    snapshots = tuple(sorted((s, day, run) for s, (day, _n, _at, run) in latest.items()))
    key = (events.url, events.database, snapshots)
    with _OVERLAPS_LOCK:
        pairs = _OVERLAPS.get(key)
    if pairs is None:
        pairs = _pair_counts(events, snapshots)
        with _OVERLAPS_LOCK:  # reports run in worker threads
            if len(_OVERLAPS) >= _KEPT_OVERLAPS:
                _OVERLAPS.pop(next(iter(_OVERLAPS)))
            _OVERLAPS[key] = pairs
    return [(a, b, n, latest[a][1], latest[b][1]) for a, b, n in pairs]


# Pair counts by snapshot set, in this process: a (segment, day, run) snapshot's members never
# change (a recomputation is a new run), so the counts of a set are valid as long as it is the
# latest one; the oldest set goes first past this many.
_KEPT_OVERLAPS = 256
_OVERLAPS_LOCK = threading.Lock()
_OVERLAPS: dict[tuple[str, str, tuple[tuple[int, int, int], ...]], list[tuple[int, int, int]]] = {}


def _pair_counts(
    events: ClickHouseEvents, snapshots: Sequence[tuple[int, int, int]]
) -> list[tuple[int, int, int]]:
    """(seg_a, seg_b, shared) of the pairs of these snapshots that share members."""
    bitmaps = (
        "SELECT segment_id, groupBitmapState(toUInt64(profile_id)) AS members "
        f"FROM {events.table('segment_memberships')} WHERE {_of_snapshots()} GROUP BY segment_id"
    )
    sql = (
        "SELECT pair.1, pair.2, pair.3 FROM ("
        f"SELECT groupArray(segment_id) AS ids, groupArray(members) AS sets FROM ({bitmaps})) "
        "ARRAY JOIN arrayFlatten(arrayMap(i -> arrayMap(j -> "
        "(ids[i], ids[j], bitmapAndCardinality(sets[i], sets[j])), range(i + 1, length(ids) + 1)), "
        "range(1, length(ids)))) AS pair WHERE pair.3 > 0"
    )
    rows = events.rows(sql, _snapshot_params(snapshots))
    return [(min(int(a), int(b)), max(int(a), int(b)), int(n)) for a, b, n in rows]


def distinct_members(
    events: ClickHouseEvents,
    segment_ids: Sequence[int],
    snapshots: Sequence[tuple[int, int, int]] | None = None,
) -> int:
    """Distinct profiles over these segments' latest snapshots, or the given (segment, day, run)
    snapshots (an exact bitmap)."""
    if snapshots is None:
        snapshots = _latest_snapshots(events, segment_ids)
    if not snapshots:
        return 0
    table = events.table("segment_memberships")
    sql = f"SELECT groupBitmap(toUInt64(profile_id)) FROM {table} WHERE {_of_snapshots()}"
    rows: Sequence[Sequence[Any]] = events.rows(sql, _snapshot_params(snapshots))
    return int(rows[0][0])


def store(
    events: ClickHouseEvents,
    active: Sequence[int],
    found: Mapping[int, frozenset[int]],
    day: int,
    computed_at: str,
) -> dict[int, tuple[int, int, str]]:
    """Write each computed day; the latest (day, count, computed_at) of every active segment. The
    overlap needs nothing stored: it is read from the latest snapshots (overlap_counts)."""
    runs = {segment_id: new_run() for segment_id in found}
    for segment_id, members in found.items():
        replace_day(events, segment_id, day, members, computed_at, runs[segment_id])
    forget_other_runs(events, day, runs)
    return latest_days(events, active)
