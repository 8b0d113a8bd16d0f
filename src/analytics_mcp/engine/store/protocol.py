"""`EventStore`: every read the reports make of the events, and the plain shapes it answers in.

A store is made for one query (`source_for(db, query)`): its operations answer that query's sites,
filters and range (or the `rng` given, for a comparison). Lists come ordered, with up to
`limit + 1` rows so the caller can tell whether more existed; the row layouts are documented here
and are the same whichever store answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from analytics_mcp.definitions import ECOMMERCE_EVENTS, ENGAGEMENT, PAGEVIEW
from analytics_mcp.engine.periods import DateRange
from analytics_mcp.rollups.keys import Dim

Rows = Sequence[Sequence[Any]]
"""Ordered rows of plain values (int, float, str, None), in the layout the operation documents."""

CurrencyCounts = Rows
"""(currency, count) for each currency other than the reporting one, by currency."""

BUILT_IN_EVENTS = frozenset({PAGEVIEW, ENGAGEMENT, *ECOMMERCE_EVENTS})
"""Event names that are not custom events."""

VisitCounter = Literal["visit_pageviews", "bounces"]
"""Extra per-group sums a visit breakdown can add after visitors and visits."""

Level = Literal["visits", "pageviews", "custom"]
"""What a general breakdown counts: visits started in range, pageviews in range, or custom events
in range of the passing visits."""

EVENT_COLUMNS = frozenset({"site_id", "pathname", "name", "props"})
"""Breakdown columns read from the counted events at the pageviews and custom levels (every other
column is the visit's); at the visits level every column is the visit's."""


@dataclass(frozen=True, slots=True)
class BreakdownPlan:
    """A general breakdown as the store sees it: `columns` to group by (visits columns, or the
    events' site_id, pathname, name and props), the rows counted (`level`), and whether goal
    completions (`goal_id`) and revenue are summed too (visits level only)."""

    level: Level
    columns: tuple[str, ...]
    goal_id: str | None = None
    revenue: bool = False
    visits: bool = True  # False: the caller reads no visits count (0 may stand for it)


@dataclass(frozen=True, slots=True)
class BreakdownCounts:
    """Every group of a general breakdown, in no particular order:
    - `rows`: (*columns, visitors, visits, pageviews, bounces, duration_ms, events); at the visits
      level pageviews are the visits' pageviews and events 0, at the pageviews level bounces and
      duration 0 and events the pageviews, at the custom level pageviews, bounces and duration 0.
      Visits without an exit page are left out when grouping by exit_path. With `props` among the
      columns each group is also split by visitor and visit: (*columns, visitor_id, visit_id,
      events), for the caller to read the property and count distinct ids itself;
    - `conversions`: (*columns, completions of the goal) of the groups with completions;
    - `revenue`: (*columns, revenue in the reporting currency) of the groups with purchases, and
      `other_currencies` as `CurrencyCounts`."""

    rows: Rows
    conversions: Rows = ()
    revenue: Rows = ()
    other_currencies: Rows = ()


"""Extra per-group sums a visit breakdown can add after visitors and visits."""


@dataclass(frozen=True, slots=True)
class Totals:
    """Traffic over one range. Visits, bounces, duration and their pageviews count the visits that
    started in it (bounces count 0 ms); visitors and pageviews count the events in it."""

    visitors: int
    pageviews: int
    visits: int
    bounces: int
    duration_ms: int
    visit_pageviews: int


@dataclass(frozen=True, slots=True)
class CommerceTotals:
    """Purchases over one range. `revenue` sums the reporting currency only; None (or 0 / 0.0)
    when there is nothing to sum, as the reports treat all three alike."""

    transactions: int
    revenue: float | None
    transactions_in_currency: int | None
    purchasing_visitors: int
    visitors: int
    other_currencies: CurrencyCounts


@dataclass(frozen=True, slots=True)
class Current:
    """Activity in a short window ending now (realtime): distinct visitors with any event in it;
    (pathname, visitors) of its pageviews, by visitors desc, pathname asc; (source, visitors) of the
    visits its events belong to, by visitors desc, source asc. Lists have up to `limit + 1` rows."""

    visitors: int
    pages: Rows
    sources: Rows


class EventStore(Protocol):
    async def totals(self, rng: DateRange) -> Totals: ...

    async def per_bucket(self) -> tuple[dict[int, int], dict[int, int]]:
        """(visitors, pageviews) by timeseries bucket index (0 = the range's first hour or local
        day); buckets without any are left out."""
        ...

    async def hours(self) -> dict[int, tuple[int, int]]:
        """(visitors, pageviews) by local hour of day 0-23, for the hours with traffic."""
        ...

    async def visit_breakdown(self, dim: Dim, extra: Sequence[VisitCounter] = ()) -> Rows:
        """Visits started in range grouped by a visit dimension (one in VISIT_DIM_COLUMNS; campaign
        and exit leave out visits without one): (*keys, visitors, visits, *extra), by visitors
        desc, visits desc, keys asc (NULL first, text in code point order)."""
        ...

    async def pages(self, by_site: bool = False) -> Rows:
        """Pageviews in range by path: (pathname, visitors, pageviews, mean time on page in ms or
        None), by pageviews desc, visitors desc, pathname asc; `by_site`: by site and path,
        (site_id, pathname, ...), site_id asc last."""
        ...

    async def goal_counts(self) -> tuple[Rows, int]:
        """((goal_id, completions, converting visitors) of each goal with completions, visitors in
        range)."""
        ...

    async def goal_completions(self, goal_id: str) -> tuple[Rows, int]:
        """(newest completions of the goal: (row id, goal_id, visitor_id, event_id, ts) by ts desc,
        id desc; their total in range)."""
        ...

    async def commerce_totals(self, rng: DateRange) -> CommerceTotals: ...

    async def revenue_per_bucket(self) -> tuple[dict[int, tuple[float, int]], CurrencyCounts]:
        """((revenue, transactions) by bucket index for the buckets with purchases, other
        currencies' purchases)."""
        ...

    async def products(self) -> tuple[Rows, CurrencyCounts]:
        """((item_name, revenue, quantity, orders), by revenue desc, quantity desc, name asc;
        other currencies by the purchases carrying items in them)."""
        ...

    async def revenue_by_source(self) -> tuple[Rows, CurrencyCounts]:
        """((source, revenue, transactions) by the source of the purchase's visit, by revenue
        desc, transactions desc, source asc; other currencies' purchases)."""
        ...

    async def funnel_counts(self) -> list[int]:
        """Visitors reaching each step of FUNNEL_STEPS in order within the range: step n counts a
        visitor whose step-n event is at or after the time they reached step n-1."""
        ...

    async def current(self, window: DateRange) -> Current:
        """Visitors, pages and sources of the events in `window` (a few minutes, not whole days:
        the rollups hand it to the raw tables)."""
        ...

    async def custom_events(self) -> Rows:
        """Custom events (names not in BUILT_IN_EVENTS) in range of the passing visits: (name,
        events, visitors), by events desc, visitors desc, name asc."""
        ...

    async def event_props(self, name: str, rows: int) -> Rows:
        """The events named `name` in range of the passing visits that carry properties, grouped by
        their props JSON text: (props, events), by events desc, props asc; up to `rows + 1` rows."""
        ...

    async def breakdown(self, plan: BreakdownPlan) -> BreakdownCounts:
        """Every group of a general breakdown (engine/breakdown_spec.py says what is counted)."""
        ...

    async def scroll_depth(self) -> Rows:
        """Pageviews in range (the matching ones with a page filter) that carry a scroll depth, by
        path: (path, pageviews with a depth, sum of depths), by count desc, path asc; up to
        `limit + 1` rows."""
        ...
