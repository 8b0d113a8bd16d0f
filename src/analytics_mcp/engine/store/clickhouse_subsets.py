"""Kept subsets for events in ClickHouse: the store `source_for` picks for a filtered query of one
site (docs/rollups.md "Kept subsets").

Under visit filters every report's raw semantics is the unfiltered one applied to the passing
visits and their events, completions and purchases (clickhouse_scope.py: every row is restricted
through its visit). A page filter passes the visits with a matching pageview, but the pageview
counts and the visitors of the overview, timeseries and hours are the matching pageviews' alone;
those rows are kept that way (rollups/clickhouse_kept_only.py). So the rollup rows of that subset,
computed by ClickHouse like a site's (rollups/clickhouse_kept_sql.py with `only`), answer
it exactly through the unchanged rollups store, read under the subset's key (-id) in place of the
site id. When the subset's days are not all current the read answers from the raw rows; the first
read of a filter set only registers it, a later one hands its days to the background thread
(rollups/clickhouse_subsets.py): a read is never slower than raw by more than the stamp check,
and once the thread is done the question is the rollups'.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time

from analytics_mcp.engine.filters import VISIT_DIMENSIONS, Filter
from analytics_mcp.engine.periods import DateRange
from analytics_mcp.engine.query import Query
from analytics_mcp.engine.store import protocol
from analytics_mcp.engine.store.clickhouse_rollups import ClickHouseRollups
from analytics_mcp.engine.store.clickhouse_scope import ChScope
from analytics_mcp.engine.store.rollup_store import Rollups
from analytics_mcp.rollups.clickhouse_kept import Subset, stale_days
from analytics_mcp.rollups.clickhouse_kept_only import Only
from analytics_mcp.rollups.clickhouse_subsets import keep_later, register, subset_id
from analytics_mcp.storage.clickhouse import ClickHouseEvents
from analytics_mcp.storage.db import Database
from analytics_mcp.timeutil import DAY_MS


def canonical(filters: tuple[Filter, ...]) -> list[Filter]:
    """The filter set in one order, each filter's values sorted and once: the same question asked
    in another order is the same subset."""
    found = {(f.dimension, f.operator, tuple(sorted(set(f.values)))) for f in filters}
    return [Filter(dimension=d, operator=o, values=v) for d, o, v in sorted(found)]


def subset_key(filters: tuple[Filter, ...]) -> str:
    return json.dumps([[f.dimension, f.operator, list(f.values)] for f in canonical(filters)])


def restriction(query: Query, events: ClickHouseEvents) -> tuple[Only, dict[str, object]]:
    """The visit filters as one condition on a visit's columns, the page filters as one on a
    pageview's path, and their parameters: the raw store's own conditions (ChScope.condition), so
    a visit or a pageview passes here exactly when it passes there."""
    scope = ChScope(query, events)
    filters = canonical(query.filters)
    visits = [scope.condition(VISIT_DIMENSIONS[f.dimension], f) for f in filters if not f.is_page]
    pages = [scope.condition("pathname", f) for f in filters if f.is_page]
    only = Only(" AND ".join(visits) or None, " AND ".join(pages) or None)
    return only, scope.params


class ClickHouseSubsetRollups(ClickHouseRollups):
    """An `EventStore` over a kept subset's rollups while its days are current, else the raw rows."""

    def __init__(self, events: ClickHouseEvents, kept: Database, query: Query) -> None:
        super().__init__(events, kept, query)
        self.key = subset_key(query.filters)
        self.subset_query = query.model_copy(update={"filters": ()})
        self.first_ask = False  # this read registered the subset: its other ranges stay raw too

    def _today(self) -> int:
        now = self.query.as_of.timestamp() if self.query.as_of is not None else time.time()
        return int(now * 1000) // DAY_MS

    async def _ready(self, *ranges: DateRange) -> protocol.EventStore:
        """The subset's rollups when its days (of these ranges and the query's) are current."""
        wanted = self.wanted_days(*ranges)
        if wanted - self._current:
            subset = await asyncio.to_thread(self._current_subset, wanted)
            if subset is None:
                return self.raw
            self._current |= wanted
            self.rollups = Rollups(self.kept, self._keyed(subset))
        return self.rollups

    def _keyed(self, subset: Subset) -> Query:
        site = dataclasses.replace(self.query.sites[0], id=subset.key)
        return self.subset_query.model_copy(update={"sites": (site,)})

    def _current_subset(self, days: set[int]) -> Subset | None:
        """The subset when every one of these days is current; otherwise None: a new subset is
        registered, one asked before has its days handed to the background thread."""
        site, today = self.query.sites[0], self._today()
        found = subset_id(self.kept, site.id, self.key, today)
        if found is None or self.first_ask:
            # Asked for the first time: remembered, not computed. A question asked once (an
            # assistant's one-off filter) costs no background work; the next report under the
            # same filters (the rest of a dashboard, a follow-up question) has it kept.
            if found is None:
                register(self.kept, site.id, self.key, today)
            self.first_ask = True
            return None
        subset = Subset(found, site.id, *restriction(self.query, self.events))
        wanted = {subset.key: (self.query.zone, days)}
        if not stale_days(self.events, self.kept, wanted, {subset.key: subset})[2]:
            return subset
        keep_later((self.events, self.kept, subset, self.query.zone, frozenset(days)), today)
        return None
