"""The FROM/WHERE of every ClickHouse statement, from a Query: ClickHouse SQL for what `Scope`
(compiler.py) builds in SQLAlchemy, with the same meaning, so every number equals SQL's.

Values go in as server-side parameters (`{p3:Array(String)}`), never into the SQL text. Tables are
read with FINAL (rows are replaced by id, storage/clickhouse/schema.py). SQL's joins to the visit
become semi-joins (`e.visit_id IN (SELECT id FROM visits ... )`), the page filter's EXISTS an IN on
the visit ids with a matching pageview.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from analytics_mcp.definitions import PAGEVIEW
from analytics_mcp.engine.filters import VISIT_DIMENSIONS, Filter
from analytics_mcp.engine.periods import DateRange
from analytics_mcp.engine.query import Query
from analytics_mcp.storage.clickhouse import ClickHouseEvents

# DateTime64(3)'s last instant (2299-12-31): range bounds past it are cut there.
MAX_MS = 10_413_791_999_999
# FINAL merges across partitions: a late event can move a visit's start (its partition month)
# into the month before, and the writer's new row then sits in another partition than the old.
FINAL_SETTINGS = {"do_not_merge_across_partitions_select_final": 0}


def ms(column: str) -> str:
    return f"toUnixTimestamp64Milli({column})"


class ChScope:
    """One statement's restriction and parameters: visits `v`, events `e`, completions `gc`,
    items `i`."""

    def __init__(self, query: Query, store: ClickHouseEvents, rng: DateRange | None = None) -> None:
        self.query = query
        self.store = store
        self.rng = rng or query.range
        self.params: dict[str, Any] = {}

    def param(self, value: Any, kind: str) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"{{{name}:{kind}}}"

    def table(self, name: str, alias: str, *, final: bool = True) -> str:
        """`final=False` only for a read of events whose answer is a set (ids, distinct visitors):
        an event's rewrites change its gap, engaged time and scroll depth alone, never its site,
        time, name, path, visit or visitor, so its older rows add nothing to such a set."""
        return f"{self.store.table(name)} AS {alias}" + (" FINAL" if final else "")

    # -- predicates ----------------------------------------------------------------------------

    def sites(self, column: str) -> str:
        ids = self.query.site_ids
        return f"{column} IN {self.param(ids, 'Array(UInt32)')}" if ids else "0"

    def at(self, instant_ms: int) -> str:
        """A time as DateTime64, so that comparing a key column with it prunes by the sort key."""
        return f"fromUnixTimestamp64Milli({self.param(min(max(instant_ms, 0), MAX_MS + 1), 'Int64')}, 'UTC')"

    def in_range(self, column: str) -> str:
        start, end = self.at(self.rng.start_ms), self.at(self.rng.end_ms)
        return f"{self.since(column, start)} AND {self.before(column, end)}"

    # On an events time (`e.ts`) a bound also bounds its UTC day: the events' sort key holds
    # toDate(ts), which ClickHouse does not derive from a bound on ts (at 1M a half-hour window read
    # 36 granules of the range instead of 2).
    def since(self, column: str, instant: str) -> str:
        day = f" AND toDate({column}) >= toDate({instant})" if column.endswith(".ts") else ""
        return f"{column} >= {instant}{day}"

    def before(self, column: str, instant: str) -> str:
        day = f" AND toDate({column}) <= toDate({instant})" if column.endswith(".ts") else ""
        return f"{column} < {instant}{day}"

    def until(self, column: str, instant: str) -> str:
        day = f" AND toDate({column}) <= toDate({instant})" if column.endswith(".ts") else ""
        return f"{column} <= {instant}{day}"

    def visit_span(self) -> list[str]:
        """Implied by "the visit has an event in range" (a visit's events lie between its start and
        its end): bounds the visit ids read for a semi-join to the range's granules (the visits'
        minmax indexes on started_at and ended_at), without changing the answer."""
        return [f"v.started_at < {self.at(self.rng.end_ms)}", f"v.ended_at >= {self.at(self.rng.start_ms)}"]

    def condition(self, column: str, flt: Filter) -> str:
        """is / is_not (null kept) / contains ignoring the case of A-Z only (positionCaseInsensitive
        folds ASCII letters, as SQLite's lower() does)."""
        if flt.operator == "is":
            return f"{column} IN {self.param(list(flt.values), 'Array(String)')}"
        if flt.operator == "is_not":
            return f"({column} IS NULL OR {column} NOT IN {self.param(list(flt.values), 'Array(String)')})"
        found = (f"positionCaseInsensitive({column}, {self.param(v, 'String')}) > 0" for v in flt.values)
        return "(" + " OR ".join(found) + ")"

    def page_match(self, pathname: str) -> list[str]:
        return [self.condition(pathname, flt) for flt in self.query.page_filters]

    def visit_conditions(self, *, page_exists: bool = True, started_in_range: bool = False) -> list[str]:
        """Site, visit-attribute filters and (unless told otherwise) "the visit has a matching
        pageview", over `v`. For visits started in range, that pageview is at or after the range's
        start (a visit's events follow its start), which prunes the pageviews read."""
        conds = [self.sites("v.site_id")]
        conds += [self.condition(f"v.{VISIT_DIMENSIONS[f.dimension]}", f) for f in self.query.visit_filters]
        if page_exists and self.query.page_filters:
            viewed = " AND ".join(
                [
                    self.sites("p.site_id"),
                    f"p.name = {self.param(PAGEVIEW, 'String')}",
                    *self.page_match("p.pathname"),
                    *([self.since("p.ts", self.at(self.rng.start_ms))] if started_in_range else []),
                ]
            )
            pageviews = self.table("events", "p", final=False)
            conds.append(f"v.id IN (SELECT p.visit_id FROM {pageviews} WHERE {viewed})")
        return conds

    def passing_visits(self, *, page_exists: bool = True, spanning: bool = False) -> str:
        """The ids of the visits passing every filter, for `... IN (...)`; `spanning`: only those
        whose span reaches into the range (for rows in range)."""
        conds = self.visit_conditions(page_exists=page_exists) + (self.visit_span() if spanning else [])
        where = " AND ".join(conds)
        return f"SELECT v.id FROM {self.table('visits', 'v')} WHERE {where}"

    @property
    def needs_visit_join(self) -> bool:
        return bool(self.query.filters)

    # -- selects -------------------------------------------------------------------------------

    def visits_started(self, columns: Sequence[str], extra: Sequence[str] = ()) -> str:
        started = [self.in_range("v.started_at"), f"v.ended_at >= {self.at(self.rng.start_ms)}"]  # ix_ended
        where = " AND ".join([*self.visit_conditions(started_in_range=True), *started, *extra])
        return f"SELECT {', '.join(columns)} FROM {self.table('visits', 'v')} WHERE {where}"

    def traffic_events(
        self,
        columns: Sequence[str],
        *,
        pageviews_only: bool = False,
        visit_ids: str | None = None,
        final: bool = True,
    ) -> str:
        """Events in range (only matching pageviews with a page filter), of visits passing the
        visit filters (of `visit_ids`, a subquery over `v`, when the caller needs fewer);
        `final=False` for a set (`table`)."""
        conds = [self.sites("e.site_id"), self.in_range("e.ts")]
        if pageviews_only or self.query.page_filters:
            conds += [f"e.name = {self.param(PAGEVIEW, 'String')}", *self.page_match("e.pathname")]
        prewhere = None
        if self.query.visit_filters:
            ids = visit_ids or self.passing_visits(page_exists=False, spanning=True)
            prewhere = f"e.visit_id IN ({ids})"
        return self._select(columns, "events", "e", conds, final=final, prewhere=prewhere)

    def visits_running_in(self, column: str = "v.id") -> str:
        """`column` of the passing visits (visit filters only) that started before the range and
        end in it or later: the ones with events in range besides those started in it."""
        start = self.at(self.rng.start_ms)
        where = " AND ".join([*self.visit_conditions(page_exists=False), f"v.started_at < {start}"])
        return f"SELECT {column} FROM {self.table('visits', 'v')} WHERE {where} AND v.ended_at >= {start}"

    def scoped_events(self, columns: Sequence[str], names: Sequence[str], extra: Sequence[str] = ()) -> str:
        """Events with these names in range, of visits passing every filter."""
        conds = [self.sites("e.site_id"), self.in_range("e.ts"), self.names("e.name", names), *extra]
        prewhere = None
        if self.query.visit_filters or self.query.page_filters:
            prewhere = f"e.visit_id IN ({self.passing_visits(spanning=True)})"
        return self._select(columns, "events", "e", conds, prewhere=prewhere)

    def events_with_visits(
        self,
        columns: Sequence[str],
        names: Sequence[str] | None,
        visit_columns: Sequence[str] = ("source",),
        *,
        page_exists: bool = True,
    ) -> str:
        """Like `scoped_events`, joined to the visit's `visit_columns` (`sv.source`); names=None
        keeps events of any name; page_exists=False leaves the page filter to the caller."""
        return self.joined_to_visits(
            columns, "events", "e", [self.names("e.name", names)] if names is not None else [],
            visit_columns, page_exists=page_exists,
        )  # fmt: skip

    def joined_to_visits(
        self,
        columns: Sequence[str],
        table: str,
        alias: str,
        conds: Sequence[str],
        visit_columns: Sequence[str],
        *,
        page_exists: bool = True,
    ) -> str:
        """Rows of `table` in range of the passing visits, joined to those visits' columns as `sv`."""
        spans = self.visit_span() if table == "events" else []
        where = " AND ".join(self.visit_conditions(page_exists=page_exists) + spans)
        picked = ", ".join(["v.id AS id", *(f"v.{name} AS {name}" for name in visit_columns)])
        visits = f"SELECT {picked} FROM {self.table('visits', 'v')} WHERE {where}"
        kept = " AND ".join([self.sites(f"{alias}.site_id"), self.in_range(f"{alias}.ts"), *conds])
        return (
            f"SELECT {', '.join(columns)} FROM {self.table(table, alias)} "
            f"INNER JOIN ({visits}) AS sv ON sv.id = {alias}.visit_id WHERE {kept}"
        )

    def completions(self, columns: Sequence[str], extra: Sequence[str] = ()) -> str:
        conds = [self.sites("gc.site_id"), self.in_range("gc.ts"), *extra]
        if self.needs_visit_join:
            conds.append(f"gc.visit_id IN ({self.passing_visits()})")
        return self._select(columns, "goal_completions", "gc", conds)

    def purchased_items(self, columns: Sequence[str], extra: Sequence[str] = ()) -> str:
        conds = [
            self.sites("i.site_id"),
            self.in_range("i.ts"),
            f"i.event_name = {self.param('purchase', 'String')}",
        ]
        if self.needs_visit_join:
            events = self.table("events", "e", final=False)
            of_visits = f"SELECT e.id FROM {events} WHERE {self.sites('e.site_id')} AND "
            conds.append(f"i.event_id IN ({of_visits}e.visit_id IN ({self.passing_visits()}))")
        return self._select(columns, "ecommerce_items", "i", [*conds, *extra])

    def names(self, column: str, names: Sequence[str]) -> str:
        return f"{column} IN {self.param(list(names), 'Array(String)')}"

    def _select(
        self,
        columns: Sequence[str],
        table: str,
        alias: str,
        conds: Sequence[str],
        *,
        final: bool = True,
        prewhere: str | None = None,
    ) -> str:
        """`prewhere`: a semi-join on an event's visit, tested before FINAL merges the rows (12% less
        CPU for top pages under a visit filter at 10M); exact, as every version of an event has the
        same visit. Text appended to the statement still goes to its WHERE."""
        source = self.table(table, alias, final=final) + (f" PREWHERE {prewhere}" if prewhere else "")
        return f"SELECT {', '.join(columns)} FROM {source} WHERE {' AND '.join(conds)}"
