"""Keyset-paged reads of the exported tables: one chunk of rows after a (ts, id) position.

Rows are ordered by (ts, id), the order of their ULIDs, so "after the cursor" is
`ts >= :lo AND (ts > :ts OR id > :id)`: the first condition is an index range, the second drops
the rows of the cursor's own millisecond up to the cursor. Every chunk is its own short read, so
rows committed meanwhile never shift a later chunk: each row present when the walk began is read
exactly once.

Indexes: (site_id, name, ts) for events, (site_id, ts) for completions; in SQLite the rowid (= id)
ends every index entry, so ORDER BY ts, id needs no sort. Several sites (and the four e-commerce
event names) are read as one UNION ALL of ordered, limited index walks ("arms"), merged by an
outer ORDER BY over at most arms x chunk rows; an IN list would instead sort every remaining row
of the range for each chunk.

Chunks are fetched through the raw DB-API cursor (statements compiled once per export): a
million-row export then builds no SQLAlchemy Row objects. Visit attributes are read once per visit
(`visit_rows`), not joined onto every pageview.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    Connection,
    Dialect,
    Select,
    bindparam,
    func,
    literal,
    or_,
    select,
    union_all,
)

from analytics_mcp.definitions import ECOMMERCE_EVENTS
from analytics_mcp.storage.schema import ecommerce_items, events, goal_completions, visits

e, v, gc, it = events.c, visits.c, goal_completions.c, ecommerce_items.c

LO: BindParameter[Any] = bindparam("lo")
HI: BindParameter[Any] = bindparam("hi")
TS: BindParameter[Any] = bindparam("ts")
ID: BindParameter[Any] = bindparam("id")
N: BindParameter[Any] = bindparam("n")
MAX_ARMS = 64  # beyond this, one IN-list read that sorts (SQLite allows 500 compound terms)


@dataclass(frozen=True, slots=True)
class Position:
    """Read rows strictly after (ts, id)."""

    ts: int
    id: int


def _keyset(arms: list[Select[Any]], flat: Select[Any], ts_col: Any, id_col: Any) -> Select[Any]:
    """Rows after the position in (ts, id) order: a UNION ALL of index walks (`arms`), or `flat`
    (the same rows, filtered with IN lists) when there are too many arms."""

    def ordered(stmt: Select[Any]) -> Select[Any]:
        stmt = stmt.where(ts_col >= LO, ts_col < HI, or_(ts_col > TS, id_col > ID))
        return stmt.order_by(ts_col, id_col).limit(N)

    if len(arms) == 1 or len(arms) > MAX_ARMS:
        return ordered(arms[0] if len(arms) == 1 else flat)
    merged = union_all(*(select(ordered(arm).subquery()) for arm in arms)).subquery()
    return select(merged).order_by(merged.c.ts, merged.c.id).limit(N)


def _in(column: Any, values: Sequence[Any]) -> Any:
    # Bound values rather than an "expanding" IN: the statement compiles once, to plain SQL.
    return column.in_([literal(value) for value in values])


# Time on page in whole seconds, half up: engaged time if reported, else the gap to the next view.
DURATION = ((func.coalesce(e.engaged_ms, e.gap_ms) + 500) // 1000).label("duration")
_PAGEVIEW = (e.ts, e.id, e.visit_id, e.hostname, e.pathname, DURATION, e.scroll_depth, e.props)
_ECOMMERCE = (
    e.ts,
    e.id,
    e.visitor_id,
    e.visit_id,
    e.name,
    e.transaction_id,
    e.revenue,
    e.currency,
    e.site_id,
)
_COMPLETION = (gc.ts, gc.id, gc.goal_id, gc.visitor_id, gc.event_id, gc.visit_id, gc.site_id)
_ECOMMERCE_NAMES = sorted(ECOMMERCE_EVENTS)


def pageviews_sql(site_ids: Sequence[int]) -> Select[Any]:
    base = select(*_PAGEVIEW).where(e.name == "pageview")
    arms = [base.where(e.site_id == site_id) for site_id in site_ids]
    return _keyset(arms, base.where(_in(e.site_id, site_ids)), e.ts, e.id)


def ecommerce_sql(site_ids: Sequence[int]) -> Select[Any]:
    # One arm per site and event name: each walks (site_id, name, ts) over its own rows only.
    base = select(*_ECOMMERCE)
    arms = [base.where(e.site_id == s, e.name == n) for s in site_ids for n in _ECOMMERCE_NAMES]
    flat = base.where(_in(e.site_id, site_ids), _in(e.name, _ECOMMERCE_NAMES))
    return _keyset(arms, flat, e.ts, e.id)


def completions_sql(site_ids: Sequence[int]) -> Select[Any]:
    base = select(*_COMPLETION)
    arms = [base.where(gc.site_id == site_id) for site_id in site_ids]
    return _keyset(arms, base.where(_in(gc.site_id, site_ids)), gc.ts, gc.id)


class RawQuery:
    """A statement compiled once for the connection's dialect, run on the raw DB-API cursor."""

    def __init__(self, stmt: Select[Any], dialect: Dialect) -> None:
        self._compiled = stmt.compile(dialect=dialect)
        self.sql = str(self._compiled)

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...] | Mapping[str, Any]:
        params = self._compiled.construct_params(dict(values))
        if self._compiled.positional:
            return tuple(params[name] for name in self._compiled.positiontup or ())
        return params

    def fetch(self, conn: Connection, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        cursor = conn.connection.cursor()
        try:
            cursor.execute(self.sql, self.parameters(values))
            return list(cursor.fetchall())
        finally:
            cursor.close()


def chunk(
    conn: Connection, query: RawQuery, after: Position, start_ms: int, end_ms: int, size: int
) -> list[tuple[Any, ...]]:
    """Up to `size` rows after `after` within [start_ms, end_ms), in (ts, id) order."""
    values = {"lo": max(start_ms, after.ts), "hi": end_ms, "ts": after.ts, "id": after.id, "n": size}
    return query.fetch(conn, values)


_VISIT_COLUMNS = (
    v.id, v.visitor_id, v.site_id, v.device_type, v.entry_path, v.referrer, v.source, v.channel,
    v.utm_source, v.utm_medium, v.utm_campaign, v.utm_content, v.utm_term, v.browser, v.os,
    v.language, v.country,
)  # fmt: skip
VISITS_SELECT = str(select(*_VISIT_COLUMNS).compile(compile_kwargs={"literal_binds": True}))

ITEMS_SQL = (
    select(it.event_id, it.item_id, it.item_name, it.price, it.quantity)
    .where(it.event_id.in_(bindparam("events", expanding=True)))
    .order_by(it.event_id, it.id)
)


def visit_rows(conn: Connection, visit_ids: Sequence[int]) -> list[tuple[Any, ...]]:
    """The exported attributes of these visits, in _VISIT_COLUMNS order. The ids are integers
    from our own rows, written into the SQL as numbers: one short statement, no parameters. A
    chunk's visits mostly have neighbouring ids (ids follow visit start), so a dense set is read
    as one id range, which beats as many single-row lookups."""
    if not visit_ids:
        return []
    low, high = min(visit_ids), max(visit_ids)
    dense = high - low < 2 * len(visit_ids)
    where = (
        f"BETWEEN {int(low)} AND {int(high)}" if dense else f"IN ({','.join(map(str, map(int, visit_ids)))})"
    )
    cursor = conn.connection.cursor()
    try:
        cursor.execute(f"{VISITS_SELECT} WHERE visits.id {where}")
        rows = cursor.fetchall()
    finally:
        cursor.close()
    if dense and len(rows) > len(visit_ids):
        wanted = set(visit_ids)
        return [row for row in rows if row[0] in wanted]
    return list(rows)


def items_of(conn: Connection, event_ids: Sequence[int]) -> ItemsByEvent:
    """The products of these e-commerce events, by event id, in the order they were sent."""
    if not event_ids:
        return {}
    return items_by_event(conn.execute(ITEMS_SQL, {"events": list(event_ids)}))


ItemsByEvent = dict[int, list[dict[str, Any]]]


def items_by_event(rows: Iterable[Sequence[Any]]) -> ItemsByEvent:
    """(event_id, item_id, item_name, price, quantity) rows, in order -> the items of each event."""
    out: ItemsByEvent = {}
    for event_id, item_id, name, price, quantity in rows:
        out.setdefault(event_id, []).append(
            {"item_id": item_id, "item_name": name, "price": price, "quantity": quantity}
        )
    return out


class SqlReads:
    """What a chunk of rows needs besides itself (stream.RowReads), on the chunk's connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def visit_rows(self, visit_ids: Sequence[int]) -> list[tuple[Any, ...]]:
        return visit_rows(self.conn, visit_ids)

    def items_of(self, rows: Sequence[tuple[Any, ...]]) -> ItemsByEvent:
        return items_of(self.conn, [row[1] for row in rows])
