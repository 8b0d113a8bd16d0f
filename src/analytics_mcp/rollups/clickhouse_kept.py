"""Kept rollups for events stored in ClickHouse (docs/rollups.md "Kept rollups on ClickHouse").

The rows of rollup_daily and rollup_visitors of each (site, local day) are computed by ClickHouse
(clickhouse_kept_sql.py), encoded here and written into the SQL database that holds the accounts,
so the rollups store (engine/store/rollup_store.py) answers from them unchanged. Each day is
written in one transaction with its stamp (rollup_stamps): the site's zone and the maxima of
(id, version) of the events and visits of the UTC days that touch [D - 4 days, D + 1 day + 30 min)
(storage/clickhouse/day_tops.py). A day's rows depend only on rows inside that window: its
counters on the rows of D, its visitor marks' gaps on marks from D-4 on, a visit that an event
joins or whose start a late event moves is stored again with a new version and a start inside
it. Every row stored new or again carries a version above every stored one, so while the stamp is
unchanged the kept rows are exact. Two exceptions, as for the kept event counts (day_counts.py):
a batch planned and not yet stored (a crash between its inserts) may later store rows below the
largest version, so a day is only stamped when `ingest_spool` shows nothing pending and no batch
planned or stored during the computation (otherwise its rows are written without a stamp: exact
for this read, computed again on the next); and `events copy` stores version 0, so the copy
clears the stamps (clear_stamps).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import groupby
from typing import Any
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

from sqlalchemy import select

from analytics_mcp.rollups import clickhouse_kept_sql as sql
from analytics_mcp.rollups.clickhouse_kept_only import Only
from analytics_mcp.rollups.clickhouse_kept_verified import Key, Mark, Stamp, remember, still_current
from analytics_mcp.rollups.clickhouse_kept_write import DailyRows, DayRows, write_days
from analytics_mcp.rollups.keys import Dim, date_of, encode
from analytics_mcp.storage.clickhouse.client import ClickHouseEvents
from analytics_mcp.storage.clickhouse.day_counts import writers_mark
from analytics_mcp.storage.clickhouse.day_tops import NONE, Tops, day_tops
from analytics_mcp.storage.db import Database
from analytics_mcp.storage.kept_rollups_schema import rollup_stamps
from analytics_mcp.timeutil import DAY_MS, local_midnight_ms

CHUNK_DAYS = 7  # days computed per set of statements (their marks' 4 days before are read once)
MARK_DAYS = 4  # a day's previous visitor marks lie within the 4 days before it
LATE_MS = 30 * 60 * 1000  # a late event moves a visit's start by under 30 minutes


@dataclass(frozen=True)
class Subset:
    """The visits of a site passing its filters (docs/rollups.md "Kept subsets"): its rows are kept
    under the key -id in place of a site id; `only` holds the filters' conditions (on a visit's
    columns, on a pageview's path), `params` their parameters (names starting with p, unlike the
    statements' own)."""

    id: int
    site_id: int
    only: Only
    params: dict[str, Any]

    @property
    def key(self) -> int:
        return -self.id


Subsets = dict[int, Subset]  # key (-id) -> subset; other keys of `wanted` are sites


@dataclass
class Filled:
    """What bringing days current did: days checked, computed, stamped, and the seconds spent."""

    checked: int = 0
    computed: int = 0
    stamped: int = 0
    seconds: float = 0.0
    runs: list[tuple[int, int, int]] = field(default_factory=list)  # (site, first, last) computed


def bring_current(
    events: ClickHouseEvents,
    kept: Database,
    wanted: dict[int, tuple[ZoneInfo, set[int]]],
    subsets: Subsets | None = None,
) -> Filled:
    """Make the kept rows of these (site or subset key -> zone, local days) current: read every
    stamp once and compute the stale days (in runs of consecutive days)."""
    subsets = subsets or {}
    started = time.perf_counter()
    filled = Filled(checked=sum(len(days) for _, days in wanted.values()))
    if not filled.checked:
        return filled
    mark, stamps, stale = stale_days(events, kept, wanted, subsets)
    if stale:
        with _computing(events, {site_id for site_id, _ in stale}):
            mark, stamps, stale = stale_days(events, kept, wanted, subsets)  # computed meanwhile?
            if stale:
                _compute_stale(events, kept, wanted, subsets, mark, stamps, stale, filled)
    filled.seconds = time.perf_counter() - started
    return filled


def stale_days(
    events: ClickHouseEvents,
    kept: Database,
    wanted: dict[int, tuple[ZoneInfo, set[int]]],
    subsets: Subsets | None = None,
) -> tuple[Mark, dict[Key, Stamp], list[Key]]:
    """The writers' mark, each wanted day's stamp now, and the days whose kept stamp differs. The
    mark is read first: while it holds, the stamps read after it from the day tops are current
    (clickhouse_kept_verified.py), so a later read at the same mark whose kept stamps are those
    reads no day tops (and returns the kept stamps as the current ones, none stale)."""
    mark = writers_mark(events)
    held = kept_stamps(kept, wanted)
    if still_current(events, mark, held, wanted):
        return mark, held, []
    stamps = current_stamps(events, wanted, subsets or {})
    remember(events, mark, stamps)
    return mark, stamps, sorted(key for key, stamp in stamps.items() if held.get(key) != stamp)


# Per server (events connection) and site, one computation at a time: the reports of one dashboard
# load ask at once, and while events arrive today is stale for all of them; the first computes it,
# the others wait and find it current (unless a batch was stored meanwhile). Other servers are
# other processes: their concurrent writes are settled by write_days' transaction.
_SITE_LOCKS: WeakKeyDictionary[ClickHouseEvents, dict[int, threading.Lock]] = WeakKeyDictionary()
_SITE_LOCKS_GUARD = threading.Lock()


@contextmanager
def _computing(events: ClickHouseEvents, site_ids: set[int]) -> Iterator[None]:
    with _SITE_LOCKS_GUARD:
        locks = _SITE_LOCKS.setdefault(events, {})
        held = [locks.setdefault(site_id, threading.Lock()) for site_id in sorted(site_ids)]
    with ExitStack() as stack:  # in site order: two reads of overlapping sites cannot deadlock
        for lock in held:
            stack.enter_context(lock)
        yield


def _compute_stale(
    events: ClickHouseEvents,
    kept: Database,
    wanted: dict[int, tuple[ZoneInfo, set[int]]],
    subsets: Subsets,
    mark: Mark,
    stamps: dict[Key, Stamp],
    stale: list[Key],
    filled: Filled,
) -> None:
    """Compute the stale days run by run; stamp a run only when no batch was pending or planned
    from before its computation to after it. `mark` was read before the stamps, so with it
    unchanged after the computation (and nothing pending) no batch was planned or stored from
    before the stamps were read to after the rows were: the stamps describe the rows computed."""
    stale = _keep_empty(kept, stamps, stale, filled)
    if not stale:
        return
    for site_id, keys in groupby(stale, key=lambda key: key[0]):
        zone = wanted[site_id][0]
        for first, last in _runs([day for _, day in keys]):
            rows = compute(events, site_id, zone, first, last, subsets.get(site_id))
            keep = mark[1] == 0 and writers_mark(events) == mark
            days = range(first, last + 1)
            write_days(kept, site_id, days, rows, [stamps[(site_id, d)] for d in days] if keep else None)
            filled.computed += len(days)
            filled.stamped += len(days) if keep else 0
            filled.runs.append((site_id, first, last))


def _keep_empty(kept: Database, stamps: dict[Key, Stamp], stale: list[Key], filled: Filled) -> list[Key]:
    """Keep the days whose window holds no event and no visit (days before a site's first event,
    or after its last) as no rows, without asking ClickHouse; return the other stale days. Such a
    stamp is kept whatever the writers' mark: any row stored later into the window, a pending
    batch's included, raises its maxima above none."""
    empty = [key for key in stale if stamps[key][1:] == NONE]
    for site_id, keys in groupby(empty, key=lambda key: key[0]):
        for first, last in _runs([day for _, day in keys]):
            days = range(first, last + 1)
            write_days(kept, site_id, days, DayRows({}, []), [stamps[(site_id, d)] for d in days])
            filled.computed += len(days)
            filled.stamped += len(days)
    return [key for key in stale if stamps[key][1:] != NONE]


def _runs(days: Sequence[int]) -> Iterator[tuple[int, int]]:
    """Runs of consecutive days, at most CHUNK_DAYS long."""
    start = previous = days[0]
    for day in days[1:]:
        if day != previous + 1 or day - start >= CHUNK_DAYS:
            yield start, previous
            start = day
        previous = day
    yield start, previous


def _utc_date(ms: int) -> date:
    return date(1970, 1, 1) + timedelta(days=ms // DAY_MS)


def _window(zone: ZoneInfo, day: int) -> tuple[date, date]:
    """The UTC dates a day's rows depend on (see the module docstring)."""
    low = local_midnight_ms(date_of(day - MARK_DAYS), zone)
    high = local_midnight_ms(date_of(day + 1), zone) + LATE_MS - 1
    return _utc_date(low), _utc_date(high)


def current_stamps(
    events: ClickHouseEvents, wanted: dict[int, tuple[ZoneInfo, set[int]]], subsets: Subsets
) -> dict[Key, Stamp]:
    """Each wanted day's stamp now: one read of the day tops over all sites and days. A subset's
    stamp is its site's: any row of the window may enter or leave it."""
    windows = {(s, d): _window(zone, d) for s, (zone, days) in wanted.items() for d in days}
    first = min(low for low, _ in windows.values())
    last = max(high for _, high in windows.values())
    site_of = {key: subsets[key].site_id if key in subsets else key for key in wanted}
    tops = day_tops(events, sorted(set(site_of.values())), first, last)
    stamps: dict[Key, Stamp] = {}
    for (site_id, day), (low, high) in windows.items():
        site = site_of[site_id]
        found = [tops.get((site, low + timedelta(days=k)), NONE) for k in range((high - low).days + 1)]
        best: Tops = tuple(max(column) for column in zip(*found, strict=True))
        stamps[(site_id, day)] = (wanted[site_id][0].key, *best)
    return stamps


def kept_stamps(kept: Database, wanted: dict[int, tuple[ZoneInfo, set[int]]]) -> dict[Key, Stamp]:
    s = rollup_stamps.c
    found: dict[Key, Stamp] = {}
    with kept.reader.connect() as conn:
        for site_id, (_, days) in wanted.items():
            stmt = select(
                s.site_id, s.day, s.zone, s.events_id, s.events_version, s.visits_id, s.visits_version
            )
            stmt = stmt.where(s.site_id == site_id, s.day.between(min(days), max(days)))
            for site, day, *stamp in conn.execute(stmt):
                found[(site, day)] = (stamp[0], *(int(v) for v in stamp[1:]))
    return found


# -- computing ------------------------------------------------------------------------------------


def _value(dim: int, parts: Sequence[Any]) -> str:
    if dim == Dim.HOUR:
        return encode(int(parts[0]))
    return encode(*parts)


def compute(
    events: ClickHouseEvents,
    site_id: int,
    zone: ZoneInfo,
    first: int,
    last: int,
    subset: Subset | None = None,
) -> DayRows:
    """The rollup rows of a site's local days first..last, as the SQL writer keeps them (of a
    subset's visits only: the same rows over the site's visits passing its condition)."""
    a = local_midnight_ms(date_of(first), zone)
    b = local_midnight_ms(date_of(last + 1), zone)
    m = local_midnight_ms(date_of(first - MARK_DAYS), zone)
    only, site = (None, site_id) if subset is None else (subset.only, subset.site_id)
    params = {
        **({} if subset is None else subset.params),
        "s": site, "z": zone.key, "a": a, "b": b, "m": m, "first": first, "stop": last + 1,
        "da": _utc_date(a), "db": _utc_date(b), "dm": _utc_date(m),
    }  # fmt: skip
    daily: DailyRows = {}
    parts: list[tuple[str, tuple[str, ...]]] = [
        (sql.visit_counters_sql(events, only), ("visits", "bounces", "duration_ms", "visit_pageviews")),
        (sql.pageview_counters_sql(events, only), ("pageviews", "top_sum_ms", "top_count")),
        (sql.goal_counters_sql(events, only), ("count",)),
        (sql.purchase_counters_sql(events, only), ("count", "revenue")),
        (sql.item_counters_sql(events, only), ("revenue", "quantity", "count")),
    ]
    settings = {"do_not_merge_across_partitions_select_final": 0}
    for statement, counters in parts:
        for dim, day, value_parts, *sums in events.rows(statement, params, settings):
            row = daily.setdefault((int(dim), int(day), _value(dim, value_parts)), {})
            for name, amount in zip(counters, sums, strict=True):
                row[name] = row.get(name, 0) + (float(amount) if name == "revenue" else int(amount or 0))
    visitors = [
        (int(dim), int(day), _value(dim, value_parts), int(gap), int(n))
        for dim, day, value_parts, gap, n in events.rows(sql.visitors_sql(events, only), params, settings)
    ]
    return DayRows(daily, visitors)
