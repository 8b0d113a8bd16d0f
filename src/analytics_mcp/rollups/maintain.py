"""The ingestion writer's side of the rollups: one batch's rows -> counter and mark deltas.

A visit contributes by its state (start day, span, counters, exit page, attributes); when a batch
changes a stored visit, the old contribution is taken back and the new one added, so a visit that
grows, bounces no more or starts earlier (a late event) stays counted once, where it belongs.
Events, completions and items are insert-only: they only add.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from analytics_mcp.rollups.funnel import FunnelBatch
from analytics_mcp.rollups.keys import (
    NO_VALUE,
    VISIT_ATTRIBUTES,
    VISIT_DIM_COLUMNS,
    Dim,
    encode,
    local_day,
    local_day_hour,
    span_days,
    span_hours,
    visit_dim_value,
)
from analytics_mcp.rollups.marks import MarkDeltas, apply_marks
from analytics_mcp.rollups.upsert import upsert_add
from analytics_mcp.storage.schema import ROLLUP_COUNTERS, rollup_daily

COUNTERS = ROLLUP_COUNTERS
_C = {name: i for i, name in enumerate(COUNTERS)}
_COLUMNS = ("site_id", "dim", "day", "value", *COUNTERS)
CounterKey = tuple[int, int, int, str]  # site_id, dim, day, value
_HOURS = [encode(hour) for hour in range(24)]
_ALL, _HOUR = int(Dim.ALL), int(Dim.HOUR)


class VisitFacts(NamedTuple):
    """What a visit's contribution depends on (attributes aside, which never change)."""

    started_at: int
    ended_at: int
    pageviews: int
    interactions: int
    exit_path: str | None


class RollupBatch:
    """Accumulates one batch's deltas in memory; `write` applies them in the open transaction."""

    def __init__(self, zones: Mapping[int, ZoneInfo]) -> None:
        self.zones = zones
        self.counters: dict[CounterKey, list[float]] = {}
        self.marks = MarkDeltas()
        self.funnel = FunnelBatch()

    def _add(self, site_id: int, dim: Dim, day: int, value: str, **amounts: float) -> None:
        row = self._row((site_id, int(dim), day, value))
        for name, amount in amounts.items():
            row[_C[name]] += amount

    def _row(self, key: CounterKey) -> list[float]:
        row = self.counters.get(key)
        if row is None:
            row = self.counters[key] = [0] * len(COUNTERS)
        return row

    # -- visits ----------------------------------------------------------------------------------

    def visit(
        self,
        site_id: int,
        visitor_id: int,
        attributes: Mapping[str, Any],
        old: VisitFacts | None,
        new: VisitFacts,
    ) -> None:
        if old == new:
            return
        fixed = _fixed_values(tuple(attributes.get(column) for column in VISIT_ATTRIBUTES))
        marks = old is None or self._marks_moved(site_id, old, new)
        if old is not None:
            self._visit_contribution(site_id, visitor_id, fixed, old, -1, marks=marks)
        self._visit_contribution(site_id, visitor_id, fixed, new, +1, marks=marks)

    def _marks_moved(self, site_id: int, old: VisitFacts, new: VisitFacts) -> bool:
        """Whether a visit's marks differ between two states: they follow its start (day), the
        local hours it spans and its exit page; a visit that only grew within the hour keeps them."""
        zone = self.zones[site_id]
        return (
            old.exit_path != new.exit_path
            or local_day_hour(zone, old.started_at) != local_day_hour(zone, new.started_at)
            or local_day_hour(zone, old.ended_at) != local_day_hour(zone, new.ended_at)
        )

    def _visit_contribution(
        self,
        site_id: int,
        visitor_id: int,
        fixed: list[tuple[int, str]],
        facts: VisitFacts,
        sign: int,
        *,
        marks: bool,
    ) -> None:
        """Counters (and marks) of one visit state, with `sign` -1 to take them back."""
        zone = self.zones[site_id]
        day = local_day(zone, facts.started_at)
        bounce = facts.pageviews == 1 and facts.interactions == 0
        duration = 0 if bounce else sign * (facts.ended_at - facts.started_at)
        bounces, pageviews = (sign if bounce else 0), sign * facts.pageviews
        grouped = [(int(Dim.ALL), NO_VALUE), *fixed]
        if facts.exit_path is not None:
            grouped.append((int(Dim.EXIT), encode(facts.exit_path)))
        for dim, value in grouped:
            row = self._row((site_id, dim, day, value))
            row[0] += sign  # visits, bounces, duration_ms, visit_pageviews: COUNTERS' first four
            row[1] += bounces
            row[2] += duration
            row[3] += pageviews
        if not marks:
            return
        held = [(dim, value, day) for dim, value in grouped[1:]]  # visit dimensions: the start day
        held += [(_ALL, NO_VALUE, d) for d in span_days(zone, facts.started_at, facts.ended_at)]
        held += [(_HOUR, _HOURS[h], d) for d, h in span_hours(zone, facts.started_at, facts.ended_at)]
        self.marks.add_all((site_id, visitor_id), held, sign)

    # -- events ----------------------------------------------------------------------------------

    def pageview(
        self, site_id: int, visitor_id: int, ts: int, pathname: str, time_on_page: int | None
    ) -> None:
        day, hour = local_day_hour(self.zones[site_id], ts)
        page = encode(pathname)
        self._add(site_id, Dim.ALL, day, NO_VALUE, pageviews=1)
        self._add(site_id, Dim.HOUR, day, _HOURS[hour], pageviews=1)
        self._add(site_id, Dim.PAGE, day, page, pageviews=1)
        if time_on_page is not None:
            self._add(site_id, Dim.PAGE, day, page, top_sum_ms=time_on_page, top_count=1)
        self.marks.touch((site_id, visitor_id, int(Dim.PAGE), page), day)

    def time_on_page_changed(
        self, site_id: int, ts: int, pathname: str, old: int | None, new: int | None
    ) -> None:
        """A stored pageview got its gap or more engaged time."""
        if old == new:
            return
        day = local_day(self.zones[site_id], ts)
        page = encode(pathname)
        if old is not None:
            self._add(site_id, Dim.PAGE, day, page, top_sum_ms=-old, top_count=-1)
        if new is not None:
            self._add(site_id, Dim.PAGE, day, page, top_sum_ms=new, top_count=1)

    def completion(self, site_id: int, visitor_id: int, ts: int, goal_id: str) -> None:
        day = local_day(self.zones[site_id], ts)
        value = encode(goal_id)
        self._add(site_id, Dim.GOAL, day, value, count=1)
        self.marks.touch((site_id, visitor_id, int(Dim.GOAL), value), day)

    def purchase(
        self, site_id: int, visitor_id: int, ts: int, currency: str | None, revenue: float | None, source: str
    ) -> None:
        day = local_day(self.zones[site_id], ts)
        amount = revenue or 0.0
        self._add(site_id, Dim.PURCHASE, day, encode(currency), count=1, revenue=amount)
        self._add(site_id, Dim.SOURCE_REVENUE, day, encode(source, currency), count=1, revenue=amount)
        self.marks.touch((site_id, visitor_id, int(Dim.BUYERS), NO_VALUE), day)

    def purchased_items(self, items: Sequence[Mapping[str, Any]]) -> None:
        """The item rows of one purchase (they share its site, time and currency)."""
        site_id, currency = items[0]["site_id"], items[0]["currency"]
        day = local_day(self.zones[site_id], items[0]["ts"])
        names: set[str] = set()
        for item in items:
            name, price, quantity = item["item_name"], item["price"], item["quantity"]
            value = encode(name, currency)
            self._add(site_id, Dim.ITEM, day, value, revenue=price * quantity, quantity=quantity)
            if name not in names:
                names.add(name)
                self._add(site_id, Dim.ITEM, day, value, count=1)
        if names:
            self._add(site_id, Dim.ITEM_EVENTS, day, encode(currency), count=1)

    # -- writing ---------------------------------------------------------------------------------

    def write(self, conn: Connection) -> None:
        rows: list[Sequence[Any]] = [
            (*key, *amounts) for key, amounts in self.counters.items() if any(amounts)
        ]
        if rows:
            upsert_add(conn, rollup_daily, rows, _COLUMNS)
        apply_marks(conn, self.marks)
        self.funnel.write(conn, self.zones)


@lru_cache(maxsize=16384)  # visits share attribute combinations (source, device, browser, ...)
def _fixed_values(values: tuple[Any, ...]) -> list[tuple[int, str]]:
    """(dim, value) of the visit dimensions fixed by a visit's first event (all but EXIT)."""
    attributes = dict(zip(VISIT_ATTRIBUTES, values, strict=True))
    return [
        (int(dim), value)
        for dim in VISIT_DIM_COLUMNS
        if dim is not Dim.EXIT and (value := visit_dim_value(dim, attributes)) is not None
    ]


def group_items(items: Iterable[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """Purchase item rows, one list per purchase event."""
    grouped: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    for item in items:
        if item["event_name"] == "purchase":
            grouped[item["event_id"]].append(item)
    return list(grouped.values())
