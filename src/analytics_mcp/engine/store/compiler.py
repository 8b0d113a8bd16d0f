"""Builds the FROM/WHERE of every engine statement from a Query, without touching the database.

Functions never name the events or visits tables themselves: they ask a `Scope` for a select over
visits, traffic events or events of scoped visits, and the Scope always adds the site restriction
(`site_id IN (the query's sites)`), the range and the filters. Nobody can forget them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    CompoundSelect,
    Select,
    String,
    and_,
    column,
    exists,
    false,
    literal,
    literal_column,
    or_,
    select,
    union,
    values,
)

from analytics_mcp.definitions import PAGEVIEW, VISIT_GAP_MS
from analytics_mcp.engine.filters import VISIT_DIMENSIONS, Filter
from analytics_mcp.engine.periods import DateRange
from analytics_mcp.engine.query import Query
from analytics_mcp.storage.dialects import Dialect, lower_ascii_text
from analytics_mcp.storage.schema import ecommerce_items, events, goal_completions, visits

# Written into the SQL, not bound: SQLite uses the partial index of pageviews by path
# (ix_events_pageview_path, WHERE name = 'pageview') only when it sees that very constant.
PAGEVIEW_NAME: ColumnElement[str] = literal_column(f"'{PAGEVIEW}'", String())


def condition(column: ColumnElement[Any], flt: Filter, dialect: Dialect) -> ColumnElement[bool]:
    """One filter on one column: is / is_not (null kept) / contains (ignoring the case of A-Z;
    other letters compare exactly, as SQLite's lower() and LIKE do, on every database)."""
    if flt.operator == "is":
        return column.in_(flt.values)
    if flt.operator == "is_not":
        return or_(column.is_(None), column.not_in(flt.values))
    lowered = dialect.lower_ascii(column)
    return or_(*(lowered.contains(lower_ascii_text(value), autoescape=True) for value in flt.values))


class Scope:
    """The query's restriction, compiled for one range: visits `v`, events `e`."""

    def __init__(self, query: Query, dialect: Dialect, rng: DateRange | None = None) -> None:
        self.query = query
        self.dialect = dialect
        self.rng = rng or query.range
        self.v = visits.alias("v")
        self.e = events.alias("e")
        self.gc = goal_completions.alias("gc")
        self.items = ecommerce_items.alias("i")

    # -- predicates ----------------------------------------------------------------------------

    def sites(self, column: ColumnElement[Any]) -> ColumnElement[bool]:
        ids = self.query.site_ids
        return column.in_(ids) if ids else false()

    def in_range(self, column: ColumnElement[Any]) -> list[ColumnElement[bool]]:
        return [column >= literal(self.rng.start_ms), column < literal(self.rng.end_ms)]

    def _page_match(self, pathname: ColumnElement[Any]) -> list[ColumnElement[bool]]:
        return [condition(pathname, flt, self.dialect) for flt in self.query.page_filters]

    def _pageviews_matching(self, alias: str) -> tuple[Any, list[ColumnElement[bool]]]:
        p = events.alias(alias)
        return p, [self.sites(p.c.site_id), p.c.name == PAGEVIEW_NAME, *self._page_match(p.c.pathname)]

    def visit_conditions(
        self, *, page_exists: bool = True, since: int | None = None
    ) -> list[ColumnElement[bool]]:
        """Site, visit-attribute filters and (unless told otherwise) the page filter as "the visit
        has a matching pageview". `since`: the visits start at or after it, so their pageviews do
        too; with exact paths (`is`) the matching pageviews are then read by path from the index
        of pageviews, instead of looking into every visit of the range."""
        v = self.v
        conds = [self.sites(v.c.site_id)]
        conds += [
            condition(v.c[VISIT_DIMENSIONS[f.dimension]], f, self.dialect) for f in self.query.visit_filters
        ]
        if not (page_exists and self.query.page_filters):
            return conds
        p, match = self._pageviews_matching("p")
        if since is not None and all(f.operator == "is" for f in self.query.page_filters):
            conds.append(v.c.id.in_(select(p.c.visit_id).where(*match, p.c.ts >= literal(since))))
        else:
            conds.append(exists().where(p.c.visit_id == v.c.id, *match))
        return conds

    def crossing_visits(self, edges: Sequence[int], name: str = "edges") -> Select[Any]:
        """Ids of the visits passing the visit filters that started before an edge and run past
        it: they have an event in the edge's first half hour (consecutive events of a visit are
        under 30 minutes apart), so one indexed range of events per edge finds them. `name`: of
        the edges' CTE, one per set of edges in a statement."""
        e, v = self.e, self.v
        w = values(column("t", BigInteger), name=name).data([(t,) for t in edges]).cte(name)
        window = and_(self.sites(e.c.site_id), e.c.ts >= w.c.t, e.c.ts < w.c.t + VISIT_GAP_MS)
        joined = w.join(e, window).join(v, v.c.id == e.c.visit_id)
        stmt = select(e.c.visit_id).select_from(joined).where(v.c.started_at < w.c.t)
        return stmt.where(*self.visit_conditions(page_exists=False)).correlate(None)  # its own v

    def passing_visits(self) -> CompoundSelect[Any]:
        """Ids of the visits passing the visit filters with an event in range: those started in
        it, and those started before it that run into it."""
        v = self.v
        return union(self.visits_started(v.c.id), self.crossing_visits([self.rng.start_ms]))

    @property
    def needs_visit_join(self) -> bool:
        return bool(self.query.filters)

    # -- selects -------------------------------------------------------------------------------

    def visits_started(self, *columns: Any) -> Select[Any]:
        """Visits whose first event is in range (visit metrics and visit breakdowns)."""
        v = self.v
        conds = self.visit_conditions(since=self.rng.start_ms)
        return select(*columns).select_from(v).where(*conds, *self.in_range(v.c.started_at))

    def traffic_events(
        self, *columns: Any, pageviews_only: bool = False, joined: bool = False
    ) -> Select[Any]:
        """Events in range for visitors and pageview counts. With a page filter only the matching
        pageviews are kept; with visit filters only the events of matching visits. `joined`: join
        the visit `v` even without visit filters (to read its attributes)."""
        e = self.e
        if pageviews_only and self.query.visit_filters and not (self.query.page_filters or joined):
            return self._pageviews_of_passing_visits(columns)
        conds = [self.sites(e.c.site_id), *self.in_range(e.c.ts)]
        if self.query.page_filters:
            conds += [e.c.name == PAGEVIEW_NAME, *self._page_match(e.c.pathname)]
        elif pageviews_only:
            conds.append(e.c.name == PAGEVIEW)
        return self._events_of_visits(columns, conds, page_exists=False, joined=joined)

    def _pageviews_of_passing_visits(self, columns: Sequence[Any]) -> Select[Any]:
        """Pageviews in range of the visits passing the visit filters, read visit by visit from
        the index of pageviews by visit (ix_events_visit_pageviews, covering what pages and
        visitors read) instead of joining every pageview of the range to its visit. On SQLite the
        site restriction is written `site_id + 0`, so the planner does not take an index led by
        site_id for it (the passing visits are of the query's sites already)."""
        e = self.e
        site = e.c.site_id + literal_column("0") if self.dialect.NAME == "sqlite" else e.c.site_id
        conds = [e.c.visit_id.in_(self.passing_visits()), self.sites(site), e.c.name == PAGEVIEW_NAME]
        return select(*columns).select_from(e).where(*conds, *self.in_range(e.c.ts))

    def scoped_events(self, *columns: Any, names: Sequence[str]) -> Select[Any]:
        """Events with these names in range, from visits that pass every filter (goals' and
        e-commerce events: a page filter keeps the visits that viewed such a page)."""
        e = self.e
        conds = [self.sites(e.c.site_id), *self.in_range(e.c.ts), e.c.name.in_(list(names))]
        return self._events_of_visits(columns, conds, page_exists=True)

    def events_with_visits(self, *columns: Any, names: Sequence[str] | None) -> Select[Any]:
        """Like `scoped_events`, always joined to the visit (for visit attributes of events);
        names=None keeps events of any name."""
        e, v = self.e, self.v
        stmt = select(*columns).select_from(e.join(v, v.c.id == e.c.visit_id))
        conds = [self.sites(e.c.site_id), *self.in_range(e.c.ts)]
        if names is not None:
            conds.append(e.c.name.in_(list(names)))
        return stmt.where(*conds, *self.visit_conditions())

    def completions(self, *columns: Any) -> Select[Any]:
        """Goal completions in range (by the completing event's time) of passing visits."""
        gc = self.gc
        conds = [self.sites(gc.c.site_id), *self.in_range(gc.c.ts)]
        stmt = select(*columns).select_from(gc)
        if not self.needs_visit_join:
            return stmt.where(*conds)
        v = self.v
        return stmt.join(v, v.c.id == gc.c.visit_id).where(*conds, *self.visit_conditions())

    def purchased_items(self, *columns: Any) -> Select[Any]:
        """Items of purchases in range of passing visits."""
        i = self.items
        conds = [self.sites(i.c.site_id), *self.in_range(i.c.ts), i.c.event_name == "purchase"]
        stmt = select(*columns).select_from(i)
        if not self.needs_visit_join:
            return stmt.where(*conds)
        e, v = self.e, self.v
        joined = i.join(e, e.c.id == i.c.event_id).join(v, v.c.id == e.c.visit_id)
        return select(*columns).select_from(joined).where(*conds, *self.visit_conditions())

    def _events_of_visits(
        self,
        columns: Sequence[Any],
        conds: list[ColumnElement[bool]],
        *,
        page_exists: bool,
        joined: bool = False,
    ) -> Select[Any]:
        e, v = self.e, self.v
        if not joined and not self.query.visit_filters and not (page_exists and self.query.page_filters):
            return select(*columns).select_from(e).where(*conds)
        return (
            select(*columns)
            .select_from(e.join(v, v.c.id == e.c.visit_id))
            .where(*conds, *self.visit_conditions(page_exists=page_exists))
        )
