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

from sqlalchemy import Connection

from analytics_mcp.ingest.clickhouse import reads
from analytics_mcp.ingest.event import ACCEPTED_OUTCOME, Outcome, PreparedEvent
from analytics_mcp.ingest.rows import ENGAGED, EVENT_COLUMNS, GAP, ID, SCROLL, VISIT_COLUMNS, RowWriter
from analytics_mcp.ingest.visits import VisitBook, VisitState
from analytics_mcp.storage.clickhouse.client import ClickHouseEvents
from analytics_mcp.storage.profiles import ProfileBatch

COMPLETION_COLUMNS = ("id", "goal_id", "site_id", "visitor_id", "visit_id", "event_id", "ts")
ITEM_COLUMNS = (
    "id", "event_id", "site_id", "ts", "event_name", "item_id", "item_name", "price", "quantity", "currency",
)  # fmt: skip
# Insert order: visits last, so a batch whose visits are in was inserted whole.
TABLES = ("events", "goal_completions", "ecommerce_items", "experiment_events", "visits")
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

    tables: dict[str, tuple[tuple[str, ...], list[Sequence[Any]]]] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    ends: dict[str, int] = field(default_factory=dict)
    profiles: ProfileBatch = field(default_factory=ProfileBatch)  # for the accounts database


def compute(
    events: ClickHouseEvents, live: list[PreparedEvent], bases: dict[str, int], version: int
) -> BatchRows:
    writer = _Writer(events, bases["event"], version)
    book = VisitBook(bases["visit"])
    ordered = sorted(range(len(live)), key=lambda i: live[i].event.ts)
    if live:
        keys = {(i.site.id, vid) for i in live for vid in i.visitor_ids}
        writer.pageview_at = reads.load_visits(events, book, keys, live[ordered[0]].event.ts, version)
    outcomes = [ACCEPTED_OUTCOME] * len(live)
    for position in ordered:
        outcomes[position] = writer.add(None, book, live[position])
    out = BatchRows(outcomes=outcomes, profiles=writer.profiles)
    out.ends = {
        "event": writer.next_event_id,
        "visit": bases["visit"] + len(book.created),
        "completion": bases["completion"] + len(writer.completions),
        "item": bases["item"] + len(writer.items),
    }
    event_rows = writer.event_rows + _updated(events, writer, version)
    _put(out, "events", (*EVENT_COLUMNS, "version"), event_rows, version)
    visit_rows = [_visit_values(v.insert_row()) for v in (*book.created, *book.changed())]
    _put(out, "visits", (*VISIT_COLUMNS, "version"), visit_rows, version)
    completions = [
        [bases["completion"] + n, *(c[k] for k in COMPLETION_COLUMNS[1:])]
        for n, c in enumerate(writer.completions)
    ]
    _put(out, "goal_completions", COMPLETION_COLUMNS, completions)
    items = [[bases["item"] + n, *(i[k] for k in ITEM_COLUMNS[1:])] for n, i in enumerate(writer.items)]
    _put(out, "ecommerce_items", ITEM_COLUMNS, items)
    for table, side_rows in writer.side_rows.items():
        columns = tuple(side_rows[0])
        _put(out, table.name, columns, [[r[c] for c in columns] for r in side_rows])
    return out


def _put(
    out: BatchRows,
    table: str,
    names: tuple[str, ...],
    rows: Sequence[Sequence[Any]],
    version: int | None = None,
) -> None:
    """The rows as columns (zip transposes in C; clickhouse-connect takes the tuples as they are,
    no copy into lists), with a last `version` column when given. Times stay epoch ms:
    clickhouse-connect writes an int into DateTime64(3) as its ticks."""
    if rows:
        data: list[Sequence[Any]] = list(zip(*rows, strict=True))
        if version is not None:
            data.append((version,) * len(rows))
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
            events.insert_columns(table, data, columns, token=token(table))
            after(table)
