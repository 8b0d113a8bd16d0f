"""What the writer (and prepare) read back from ClickHouse: stored dedup keys, the open visits of
a batch's visitors, stored pageviews whose gap or engaged time changes. Reads for a batch of
version v see only rows of earlier versions, so a batch stored again after a crash computes the
same rows whatever part of it was inserted the first time."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from clickhouse_connect.driver.exceptions import OperationalError

from analytics_mcp.definitions import VISIT_GAP_MS
from analytics_mcp.ingest.rows import EVENT_COLUMNS, VISIT_COLUMNS
from analytics_mcp.ingest.visits import STATE_COLUMNS, VisitBook, VisitState
from analytics_mcp.storage.clickhouse.client import ClickHouseEvents
from analytics_mcp.storage.clickhouse.schema import TIME_COLUMNS

log = logging.getLogger("analytics_mcp.ingest")

CHUNK = 10_000  # one lookup per request of the batch API
# From this many ids on, the bloom filter of client_event_id passes nearly every granule (each id
# is a 2.5 % false positive: 1 - 0.975^100 = 92 % of granules pass at 100 ids) and checking it
# costs more than the reads it saves (chDB, 1M events, CPU: 10,000 ids 51 -> 38 ms without it,
# 100 ids 42 -> 31 ms; 10 ids 11 ms with it, 26 ms without).
SKIP_INDEX_IDS = 100
NO_LIMIT = 1 << 62  # a version above every real one: read everything stored
# clickhouse-connect's escaping of a string in a bound array (binding.escape_str): a backslash
# before each of these; done here with str.translate, in C, instead of a generator per character.
_ESCAPES = str.maketrans({c: "\\" + c for c in ("\\", "'", "`", "\t", "\n")})


class _BoundLiteral:
    """A bound parameter's value already in clickhouse-connect's form: its formatter passes any
    object it does not know through `str()` unchanged."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


def string_array(values: list[str]) -> _BoundLiteral:
    """`values` for an `Array(String)` parameter, as clickhouse-connect would format it (10,000
    ids: 3 % of the server's CPU there). Ids never hold a NUL (the wire refuses it), so NUL can
    stand for the separator while the ids are escaped in one call."""
    if not values:
        return _BoundLiteral("[]")
    joined = "\x00".join(values)
    if joined.count("\x00") != len(values) - 1:  # an id with a NUL of its own: the slow way
        return _BoundLiteral("[" + ", ".join("'" + v.translate(_ESCAPES) + "'" for v in values) + "]")
    return _BoundLiteral("['" + joined.translate(_ESCAPES).replace("\x00", "', '") + "']")


def joined_strings(values: list[str]) -> _BoundLiteral | None:
    """`values` as one `String` parameter, NUL-separated, for `splitByChar('\\0', ...)` in SQL:
    ClickHouse parses one string literal faster than an array of as many literals (10,000 ids in
    chDB: 17 -> 5 ms of CPU). The text is what clickhouse-connect would bind for the joined string,
    with each NUL written as the escape `\\0`. None for an empty list, or when a value holds a NUL
    itself (the wire refuses it; such ids go as an array)."""
    joined = "\x00".join(values)
    if not values or joined.count("\x00") != len(values) - 1:
        return None
    return _BoundLiteral(joined.translate(_ESCAPES).replace("\x00", "\\0"))


def _int_list(values: list[int]) -> _BoundLiteral:
    """Integers as one comma-separated `String` parameter (nothing in them to escape): bound as
    an `Array(Int64)`, clickhouse-connect formats each value in Python (10,000 visitor ids a
    batch: 0.3-0.5 us of the writer's CPU an event)."""
    return _BoundLiteral(",".join(map(str, values)))


def _selected(columns: Iterable[str], alias: str = "") -> str:
    """The columns, epoch ms for times (aliased `<name>_ms`: an alias named as its column would
    shadow the column in WHERE)."""
    return ", ".join(
        f"toUnixTimestamp64Milli({alias}{c}) AS {c}_ms" if c in TIME_COLUMNS else f"{alias}{c}"
        for c in columns
    )


class ClickHouseKeys:
    """`StoredKeys` for prepare (every stored row) and for the writer (rows before its version)."""

    def __init__(self, events: ClickHouseEvents, before_version: int = NO_LIMIT) -> None:
        self._events = events
        self.before_version = before_version

    def existing(
        self, column: str, pairs: list[tuple[int, str | None]], *, purchase_only: bool
    ) -> set[tuple[Any, ...]]:
        """The stored (site, value) pairs among `pairs`. For prepare (no version bound), an
        unreachable ClickHouse server answers "none stored": the spool must keep acknowledging
        while ClickHouse is down, and the writer checks again, against every stored row, before
        it stores (a retry of a stored event is then answered accepted and dropped there). chDB
        is never unreachable and its writer does not check again (frames.ClickHouseWriter.recheck):
        its errors are raised."""
        try:
            return self._existing(column, pairs, purchase_only=purchase_only)
        except OperationalError:
            if self.before_version != NO_LIMIT or self._events.embedded:
                raise  # the writer must know: it retries the frame later
            log.warning("ClickHouse unreachable: duplicates are checked when the writer stores")
            return set()

    def _existing(
        self, column: str, pairs: list[tuple[int, str | None]], *, purchase_only: bool
    ) -> set[tuple[Any, ...]]:
        by_site: dict[int, list[str]] = {}
        for site_id, value in pairs:
            if value is not None:
                by_site.setdefault(site_id, []).append(value)
        purchase = " AND name = 'purchase'" if purchase_only else ""
        # prepare reads every version: no version column to read then
        bound = "" if self.before_version == NO_LIMIT else " AND version < {b:UInt64}"
        found: set[tuple[Any, ...]] = set()
        for site_id, values in by_site.items():
            for start in range(0, len(values), CHUNK):
                chunk = values[start : start + CHUNK]
                joined = joined_strings(chunk)
                listed = (
                    "{v:Array(String)}"
                    if joined is None
                    else "(SELECT arrayJoin(splitByChar('\\0', {v:String})))"
                )
                rows = self._events.rows(
                    f"SELECT DISTINCT {column} FROM {self._events.table('events')} "
                    f"WHERE site_id = {{s:UInt32}} AND {column} IN {listed} "
                    f"{bound}{purchase}",
                    {"s": site_id, "v": string_array(chunk) if joined is None else joined}
                    | ({"b": self.before_version} if bound else {}),
                    {"use_skip_indexes": 0} if len(chunk) >= SKIP_INDEX_IDS else None,
                )
                found.update((site_id, row[0]) for row in rows)
        return found


def stored_event_time(events: ClickHouseEvents, site_id: int, client_event_id: str) -> int | None:
    """The time of the site's stored event with this id (the ix_client_event_id bloom filter
    finds its granules), as experiments/events.py reads it in SQL."""
    rows = events.rows(
        f"SELECT toUnixTimestamp64Milli(ts) FROM {events.table('events')} "
        "WHERE site_id = {s:UInt32} AND client_event_id = {c:String} LIMIT 1",
        {"s": site_id, "c": client_event_id},
    )
    return int(rows[0][0]) if rows else None


def load_visits(
    events: ClickHouseEvents, book: VisitBook, keys: Iterable[tuple[int, int]], since_ms: int, version: int
) -> dict[int, int]:
    """Fill `book` with the visits of these (site, visitor) keys that may still be open at
    since_ms, as stored before `version`; the ts of each one's latest pageview, by id."""
    by_site: dict[int, list[int]] = {}
    for site_id, vid in keys:
        by_site.setdefault(site_id, []).append(vid)
    columns = [c for c in VISIT_COLUMNS if c != "site_id"]
    found: list[VisitState] = []
    pageviews: dict[int, int] = {}
    for site_id, ids in by_site.items():
        ids = sorted(set(ids))
        for start in range(0, len(ids), CHUNK):
            rows = events.rows(
                f"SELECT {_selected(columns)} FROM {events.table('visits')} WHERE site_id = {{s:UInt32}} "
                "AND visitor_id IN (SELECT toInt64(arrayJoin(splitByChar(',', {v:String})))) "
                "AND version < {b:UInt64} AND ended_at >= fromUnixTimestamp64Milli({e:Int64}, 'UTC') "
                "ORDER BY id, version DESC LIMIT 1 BY id",
                {
                    "s": site_id,
                    "v": _int_list(ids[start : start + CHUNK]),
                    "b": version,
                    "e": since_ms - VISIT_GAP_MS,
                },
            )
            for row in rows:
                values = dict(zip(columns, row, strict=True))
                state = VisitState(site_id=site_id, **{c: values.pop(c) for c in STATE_COLUMNS})
                state.attributes = values
                found.append(state)
                if state.last_pageview_id is not None and state.last_pageview_at is not None:
                    pageviews[state.last_pageview_id] = state.last_pageview_at
    for state in sorted(found, key=lambda s: (s.ended_at, s.id)):  # latest visit wins a key
        book.add_loaded(state, state.attributes)
    return pageviews


def stored_pageviews(events: ClickHouseEvents, at: dict[int, int], version: int) -> list[list[Any]]:
    """The stored rows (EVENT_COLUMNS order, ts in ms) of these pageview ids, whose ts are `at`."""
    if not at:
        return []
    rows = events.rows(
        f"SELECT {_selected(EVENT_COLUMNS)} FROM {events.table('events')} WHERE name = 'pageview' "
        "AND ts >= fromUnixTimestamp64Milli({lo:Int64}, 'UTC') "
        "AND ts <= fromUnixTimestamp64Milli({hi:Int64}, 'UTC') "
        "AND id IN {ids:Array(Int64)} AND version < {b:UInt64} ORDER BY id, version DESC LIMIT 1 BY id",
        {"lo": min(at.values()), "hi": max(at.values()), "ids": sorted(at), "b": version},
    )
    return [list(row) for row in rows]


def latest_pageview(
    events: ClickHouseEvents, visit: VisitState, pathname: str, version: int
) -> tuple[int, int] | None:
    """(id, ts) of the visit's latest pageview of `pathname` stored before `version`."""
    rows = events.rows(
        f"SELECT id, toUnixTimestamp64Milli(ts) FROM {events.table('events')} WHERE site_id = {{s:UInt32}} "
        "AND name = 'pageview' AND ts >= fromUnixTimestamp64Milli({lo:Int64}, 'UTC') "
        "AND ts <= fromUnixTimestamp64Milli({hi:Int64}, 'UTC') AND visit_id = {v:Int64} "
        "AND pathname = {p:String} AND version < {b:UInt64} ORDER BY ts DESC, id DESC LIMIT 1",
        {
            "s": visit.site_id,
            "lo": visit.started_at - VISIT_GAP_MS,
            "hi": visit.ended_at + VISIT_GAP_MS,
            "v": visit.id,
            "p": pathname,
            "b": version,
        },
    )
    return (int(rows[0][0]), int(rows[0][1])) if rows else None
