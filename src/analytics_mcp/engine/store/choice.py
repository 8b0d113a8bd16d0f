"""Which store answers a query: ClickHouse when the events live there; else the rollups when they
answer it exactly, the raw tables otherwise.

Inside a `raw_tables()` block every query reads the raw tables; the property tests and
`bench/engine.py --raw` compare the two stores that way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from analytics_mcp.engine.query import Query
from analytics_mcp.engine.store.clickhouse_rollups import ClickHouseRollups
from analytics_mcp.engine.store.clickhouse_store import ClickHouseStore
from analytics_mcp.engine.store.clickhouse_subsets import ClickHouseSubsetRollups
from analytics_mcp.engine.store.filtered_rollups import FilteredRollups, rollup_filter
from analytics_mcp.engine.store.protocol import EventStore
from analytics_mcp.engine.store.raw_store import RawTables
from analytics_mcp.engine.store.rollup_store import Rollups
from analytics_mcp.storage.clickhouse import ClickHouseEvents, EventsDatabase

_READ_ROLLUPS: ContextVar[bool] = ContextVar("read_rollups", default=True)


@contextmanager
def raw_tables() -> Iterator[None]:
    """Answer every query from the raw tables within this block (in this thread / task and the
    tasks it starts, e.g. an `asyncio.run` inside the block)."""
    token = _READ_ROLLUPS.set(False)
    try:
        yield
    finally:
        _READ_ROLLUPS.reset(token)


def rollups_answer(query: Query) -> bool:
    """Whether the rollups answer this query exactly (and are not switched off by `raw_tables`):
    no filters (rollups keep no per-visit rows), buckets of whole local days (days, weeks or
    months: rollups count whole days), and every queried site keeping its rollups in the query's
    time zone."""
    return (
        _READ_ROLLUPS.get()
        and not query.filters
        and query.interval != "hour"
        and bool(query.sites)
        and all(site.timezone == query.timezone for site in query.sites)
    )


def subset_answers(query: Query) -> bool:
    """Whether a kept subset answers this query: one site, any filters (visit attributes, pages,
    both), and the rollups answering it unfiltered."""
    unfiltered = query.model_copy(update={"filters": ()})
    return bool(query.filters) and len(query.sites) == 1 and rollups_answer(unfiltered)


def source_for(db: EventsDatabase, query: Query) -> EventStore:
    """The store that answers `query`: the one place the engine chooses its tables. Events in
    ClickHouse: the rollups kept from them in the accounts database when they answer (and the
    database holding them is known: `ClickHouseEvents.rollups`), those of the kept subset for a
    filtered query of one site, else the raw rows."""
    if isinstance(db, ClickHouseEvents):
        if db.rollups is not None and rollups_answer(query):
            return ClickHouseRollups(db, db.rollups, query)
        if db.rollups is not None and subset_answers(query):
            return ClickHouseSubsetRollups(db, db.rollups, query)
        return ClickHouseStore(db, query)
    if rollups_answer(query):
        return Rollups(db, query)
    one_filter = rollup_filter(query)
    if one_filter is not None and rollups_answer(query.model_copy(update={"filters": ()})):
        return FilteredRollups(db, query, *one_filter)  # totals from the rollups, the rest raw
    return RawTables(db, query)
