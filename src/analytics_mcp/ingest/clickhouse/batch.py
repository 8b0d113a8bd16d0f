"""The rows one batch of prepared events adds to ClickHouse, computed as the SQL writer computes
them (`RowWriter`, `VisitBook`: the 30-minute rule, gaps, engagement, goals, items) from the
state stored before the batch's version, then inserted table by table with one deduplication
token each. New and changed rows carry the batch's version (ReplacingMergeTree keeps the highest);
no rollups are kept in ClickHouse. The profiles of the batch's identified events go to the accounts
database (docs/platform.md, "Segments on ClickHouse"), written after the inserts: a batch stored
again writes the same changes again, which leaves a profile as it was (traits merged, first and
last seen as min and max)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
from sqlalchemy import Connection

from analytics_mcp.ingest.clickhouse import fields, plain_rows, reads
from analytics_mcp.ingest.clickhouse.plain_rows import PROVISIONAL, Column
from analytics_mcp.ingest.event import ACCEPTED_OUTCOME, Outcome, PreparedEvent, dropped
from analytics_mcp.ingest.rows import ENGAGED, EVENT_COLUMNS, GAP, ID, SCROLL, VISIT, VISIT_COLUMNS, RowWriter
from analytics_mcp.ingest.visits import VisitBook, VisitState
from analytics_mcp.storage.clickhouse.client import ClickHouseEvents
from analytics_mcp.storage.clickhouse.schema import TIME_COLUMNS
from analytics_mcp.storage.profiles import ProfileBatch

COMPLETION_COLUMNS = ("id", "goal_id", "site_id", "visitor_id", "visit_id", "event_id", "ts")
ITEM_COLUMNS = (
    "id", "event_id", "site_id", "ts", "event_name", "item_id", "item_name", "price", "quantity", "currency",
)  # fmt: skip
# Insert order: visits last, so a batch whose visits are in was inserted whole.
TABLES = ("events", "goal_completions", "ecommerce_items", "experiment_events", "visits")
_MS = pa.timestamp("ms", "UTC")
_visit_values = itemgetter(*VISIT_COLUMNS)  # a visit's row dict -> its values, in C


class _Writer(RowWriter):
    """RowWriter whose engagement lookup reads ClickHouse (rows before the batch's version)."""

    def __init__(self, events: ClickHouseEvents, next_event_id: int, version: int) -> None:
        super().__init__(next_event_id)
        self._events = events
        self._version = version
        self.pageview_at: dict[int, int] = {}  # stored pageview id -> its ts

    def _stored_pageview(self, conn: Connection | None, visit: VisitState, pathname: str) -> int | None:
        found = reads.latest_pageview(self._events, visit, pathname, self._version)
        if found is None:
            return None
        self.pageview_at[found[0]] = found[1]
        return found[0]

    @property
    def next_event_id(self) -> int:
        return self._next_id


@dataclass
class BatchRows:
    """Columns by table (names, one list per column), the outcome of each event, and the first
    free ids after."""

    tables: dict[str, tuple[tuple[str, ...], list[Column]]] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    ends: dict[str, int] = field(default_factory=dict)
    profiles: ProfileBatch = field(default_factory=ProfileBatch)  # for the accounts database
    plain: int = 0  # events computed as columns (plain_rows), not one by one


def compute(
    events: ClickHouseEvents,
    live: Sequence[PreparedEvent],
    bases: dict[str, int],
    version: int,
    plain: bool = True,
    frames: list[dict[str, Any]] | None = None,
) -> BatchRows:
    """`plain`: the common case as columns (plain_rows); False: every event through `RowWriter.add`
    (the reference the tests compare with). `frames`: the spool frames holding exactly `live`
    (fields.columns)."""
    writer = _Writer(events, PROVISIONAL, version)
    book = VisitBook(PROVISIONAL)
    cols = fields.columns(live, frames)
    ts = np.fromiter(cols.ts, np.int64, len(live))
    ordered = np.argsort(ts, kind="stable")  # the per-event path's order: time, then arrival
    rank = np.empty(len(live), np.int64)
    rank[ordered] = np.arange(len(live), dtype=np.int64)
    grouped = fields.groups(cols)
    if live:
        start = int(ts[ordered[0]])
        writer.pageview_at = reads.load_visits(events, book, grouped.pairs, start, version)
    flags = plain_rows.plain(cols, grouped, book) if plain else np.zeros(len(live), np.bool_)
    outcomes = [ACCEPTED_OUTCOME] * len(live)
    mixed = bool(flags.any())
    other_events: list[int] = []  # the rows and visits RowWriter numbered provisionally
    other_visits: list[int] = []
    if mixed:
        other_events, other_visits = _add_each(writer, book, live, ordered[~flags[ordered]], outcomes)
    else:  # RowWriter alone, numbering its rows and visits as they come
        writer.number_from(bases["event"])
        book.number_from(bases["visit"])
        for position in ordered.tolist():
            outcomes[position] = writer.add(None, book, live[position])
    common = plain_rows.compute(cols, grouped, flags, rank, ts)
    for position in common.dropped.tolist():
        outcomes[position] = dropped("no open visit")
    event_ids, other_event_ids = plain_rows.merged_ids(common.event_ranks, rank[other_events], bases["event"])
    visit_ids, other_visit_ids = plain_rows.merged_ids(common.visit_ranks, rank[other_visits], bases["visit"])
    common.finish(event_ids, visit_ids)
    if mixed:
        _renumber(writer, book, other_event_ids.tolist(), other_visit_ids.tolist())
    out = BatchRows(outcomes=outcomes, profiles=writer.profiles, plain=len(event_ids))
    out.ends = {
        "event": bases["event"] + len(event_ids) + len(writer.event_rows),
        "visit": bases["visit"] + len(visit_ids) + len(book.created),
        "completion": bases["completion"] + len(writer.completions),
        "item": bases["item"] + len(writer.items),
    }
    other_rows = writer.event_rows + _updated(events, writer, version)
    _put(out, "events", (*EVENT_COLUMNS, "version"), _joined(common.event_columns, other_rows), version)
    visit_rows = [_visit_values(v.insert_row()) for v in (*book.created, *book.changed())]
    _put(out, "visits", (*VISIT_COLUMNS, "version"), _joined(common.visit_columns, visit_rows), version)
    completions = [
        [bases["completion"] + n, *(c[k] for k in COMPLETION_COLUMNS[1:])]
        for n, c in enumerate(writer.completions)
    ]
    _put(out, "goal_completions", COMPLETION_COLUMNS, _columns(completions, len(COMPLETION_COLUMNS)))
    items = [[bases["item"] + n, *(i[k] for k in ITEM_COLUMNS[1:])] for n, i in enumerate(writer.items)]
    _put(out, "ecommerce_items", ITEM_COLUMNS, _columns(items, len(ITEM_COLUMNS)))
    for table, side_rows in writer.side_rows.items():
        columns = tuple(side_rows[0])
        _put(out, table.name, columns, _columns([[r[c] for c in columns] for r in side_rows], len(columns)))
    return out


def _add_each(
    writer: _Writer,
    book: VisitBook,
    live: Sequence[PreparedEvent],
    positions: fields.Ints,
    outcomes: list[Outcome],
) -> tuple[list[int], list[int]]:
    """`RowWriter.add` of the events at `positions` (in time order), numbered provisionally: the
    positions whose event made a row, and those whose event started a visit."""
    made_rows: list[int] = []
    made_visits: list[int] = []
    for position in positions.tolist():
        rows_before, visits_before = len(writer.event_rows), len(book.created)
        outcomes[position] = writer.add(None, book, live[position])
        if len(writer.event_rows) > rows_before:
            made_rows.append(position)
        if len(book.created) > visits_before:
            made_visits.append(position)
    return made_rows, made_visits


def _renumber(writer: _Writer, book: VisitBook, event_ids: list[int], visit_ids: list[int]) -> None:
    """The final ids of the rows and visits `RowWriter` numbered provisionally (from PROVISIONAL in
    time order; stored rows and visits keep theirs)."""

    def event(row_id: int) -> int:
        return event_ids[row_id - PROVISIONAL] if row_id >= PROVISIONAL else row_id

    def visit(visit_id: int) -> int:
        return visit_ids[visit_id - PROVISIONAL] if visit_id >= PROVISIONAL else visit_id

    for row in writer.event_rows:
        row[ID], row[VISIT] = event(row[ID]), visit(row[VISIT])
    for completion in writer.completions:
        completion["event_id"], completion["visit_id"] = (
            event(completion["event_id"]),
            visit(completion["visit_id"]),
        )
    for dicts in (writer.items, *writer.side_rows.values()):
        for values in dicts:
            values["event_id"] = event(values["event_id"])
    for state in (*book.created, *book.changed()):
        state.id = visit(state.id)
        if state.last_pageview_id is not None:
            state.last_pageview_id = event(state.last_pageview_id)


def _joined(columns: list[Column], rows: Sequence[Sequence[Any]]) -> list[Column]:
    """plain_rows' columns followed by the per-event path's rows."""
    return [_join(a, b) for a, b in zip(columns, _columns(rows, len(columns)), strict=True)]


def _join(first: Column, second: Column) -> Column:
    """Two parts of a column as one (no copy when either is empty). `first` (plain_rows' part) may
    be a numpy or pyarrow array: the per-event part (the few visits and pageviews an earlier batch
    stored and this one changes, in every batch of a burst) joins it as an Arrow array of its type,
    instead of both becoming Python values; as Python values when they do not fit that type."""
    if not len(first) or not len(second):
        return second if not len(first) else first
    if isinstance(first, (pa.Array, np.ndarray)):
        head = first if isinstance(first, pa.Array) else pa.array(first)
        try:
            joined: Column = pa.concat_arrays([head, pa.array(second, head.type)])
            return joined
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            first = first.to_pylist() if isinstance(first, pa.Array) else first.tolist()
    return [*first, *second]


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[Column]:
    """Rows as columns (zip transposes in C; clickhouse-connect takes the tuples as they are)."""
    return list(zip(*rows, strict=True)) if rows else [()] * width


def _put(
    out: BatchRows,
    table: str,
    names: tuple[str, ...],
    data: list[Column],
    version: int | None = None,
) -> None:
    """A table's columns, with a last `version` column when given. Times stay epoch ms:
    clickhouse-connect writes an int into DateTime64(3) as its ticks."""
    if data and len(data[0]):
        if version is not None:
            data.append(np.full(len(data[0]), version, np.int64))
        out.tables[table] = (names, data)


def _updated(events: ClickHouseEvents, writer: _Writer, version: int) -> list[list[Any]]:
    """Pageviews stored by earlier batches whose gap or engaged time this batch changes, as
    whole new rows (of the batch's version once inserted)."""
    touched = set(writer.stored_gaps) | set(writer.stored_engagement)
    at = {row_id: writer.pageview_at[row_id] for row_id in touched if row_id in writer.pageview_at}
    rows = []
    for row in reads.stored_pageviews(events, at, version):
        row_id = row[ID]
        if row_id in writer.stored_gaps:
            row[GAP] = writer.stored_gaps[row_id]
        if row_id in writer.stored_engagement:
            added_ms, seen_depth = writer.stored_engagement[row_id]
            row[ENGAGED] = (row[ENGAGED] or 0) + added_ms
            row[SCROLL] = max(row[SCROLL] or 0, seen_depth)
        rows.append(row)
    return rows


def insert(
    events: ClickHouseEvents,
    rows: BatchRows,
    token: Callable[[str], str | None],
    after: Callable[[str], None],
) -> None:
    """Every table's rows, one insert each, `token(table)` deduplicating a repeat."""
    for table in TABLES:
        if table in rows.tables:
            columns, data = rows.tables[table]
            events.insert_arrow(table, _arrow(columns, data), token=token(table))
            after(table)


def _arrow(names: tuple[str, ...], data: list[Column]) -> Any:
    """The columns as a pyarrow Table, types inferred in C (ClickHouse converts each to its
    column's type), times (epoch ms) as timestamps. A numpy int64 column is taken without a
    Python int per value, a pyarrow array as it is."""
    arrays = [
        _array(column, pa.int64()).cast(_MS) if name in TIME_COLUMNS else _array(column, None)
        for name, column in zip(names, data, strict=True)
    ]
    return pa.Table.from_arrays(arrays, names=list(names))


def _array(column: Any, kind: Any) -> Any:
    return column if isinstance(column, pa.Array) else pa.array(column, kind)
