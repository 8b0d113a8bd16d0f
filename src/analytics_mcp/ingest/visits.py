"""Visits (sessions): consecutive events of one visitor on one site with gaps under 30 minutes.

A batch loads the candidate open visits once, evolves them in memory event by event, and the
writer persists new and changed visits in the same transaction as the events.
"""

from __future__ import annotations

from collections.abc import Iterable, KeysView
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, literal_column, select

from analytics_mcp.definitions import VISIT_GAP_MS
from analytics_mcp.rollups.keys import VISIT_ATTRIBUTES
from analytics_mcp.rollups.maintain import VisitFacts
from analytics_mcp.storage.schema import visits

_LOOKUP_CHUNK = 400
STATE_COLUMNS = (
    "id",
    "visitor_id",
    "started_at",
    "ended_at",
    "last_pageview_id",
    "last_pageview_at",
    "pageviews",
    "events",
    "interactions",
    "exit_path",
)
# Columns a later event can change (attributes are fixed by the first event).
COUNTER_COLUMNS = STATE_COLUMNS[2:]


@dataclass(slots=True)
class VisitState:
    id: int
    site_id: int
    visitor_id: int
    started_at: int
    ended_at: int
    is_new: bool = False
    attributes: dict[str, Any] = field(
        default_factory=dict
    )  # all of a new visit's; grouped ones of a stored visit
    original: VisitFacts | None = None  # a stored visit's facts when loaded (rollup deltas)
    last_pageview_id: int | None = None
    last_pageview_at: int | None = None
    last_pageview_row: list[Any] | None = None  # when the latest pageview is in this batch
    pageviews: int = 0
    events: int = 0
    interactions: int = 0
    exit_path: str | None = None
    dirty: bool = False
    # Pageview rows of this batch by path (latest), for engagement reports.
    batch_pageviews: dict[str, list[Any]] = field(default_factory=dict)

    def is_open_at(self, ts: int) -> bool:
        return self.started_at - VISIT_GAP_MS < ts < self.ended_at + VISIT_GAP_MS

    def touch(self, ts: int) -> None:
        if ts < self.started_at:
            self.started_at = ts
        if ts > self.ended_at:
            self.ended_at = ts
        self.dirty = True

    def facts(self) -> VisitFacts:
        return VisitFacts(self.started_at, self.ended_at, self.pageviews, self.interactions, self.exit_path)

    def counters(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in COUNTER_COLUMNS}

    def insert_row(self) -> dict[str, Any]:
        return {
            **self.counters(),
            **self.attributes,
            "id": self.id,
            "site_id": self.site_id,
            "visitor_id": self.visitor_id,
        }


class VisitBook:
    """The visits one batch may touch, keyed by (site_id, visitor_id); latest visit wins."""

    def __init__(self, next_id: int) -> None:
        self._next_id = next_id
        self._by_key: dict[tuple[int, int], VisitState] = {}
        self._loaded: list[VisitState] = []  # all stored visits read, even when a newer one took the key
        self.created: list[VisitState] = []

    def load(self, conn: Connection, keys: Iterable[tuple[int, int]], since_ms: int) -> None:
        by_site: dict[int, set[int]] = {}
        for site_id, vid in keys:
            by_site.setdefault(site_id, set()).add(vid)
        cols = [visits.c[name] for name in (*STATE_COLUMNS, *VISIT_ATTRIBUTES)]
        n_state = len(STATE_COLUMNS)
        for site_id, ids in by_site.items():
            id_list = sorted(ids)
            for start in range(0, len(id_list), _LOOKUP_CHUNK):
                stmt = (
                    select(*cols)
                    .where(
                        visits.c.site_id == site_id,
                        visits.c.visitor_id.in_(id_list[start : start + _LOOKUP_CHUNK]),
                    )
                    # Unary + keeps the planner on ix_visits_lookup (visitor ids are selective)
                    # instead of a range scan of every recent visit on ix_visits_site_ended.
                    .where(literal_column("+visits.ended_at") >= since_ms - VISIT_GAP_MS)
                )
                for row in sorted(conn.execute(stmt), key=lambda r: r.ended_at):
                    state = VisitState(
                        site_id=site_id, **dict(zip(STATE_COLUMNS, row[:n_state], strict=True))
                    )
                    self.add_loaded(state, dict(zip(VISIT_ATTRIBUTES, row[n_state:], strict=True)))

    def add_loaded(self, state: VisitState, attributes: dict[str, Any]) -> None:
        """A stored visit read by `load` (or another store's reader), in ended_at order."""
        state.attributes = attributes
        state.original = state.facts()
        self._by_key[(state.site_id, state.visitor_id)] = state
        self._loaded.append(state)

    def number_from(self, next_id: int) -> None:
        """Number the visits this book starts from `next_id` (none started yet)."""
        assert not self.created
        self._next_id = next_id

    def keys(self) -> KeysView[tuple[int, int]]:
        """The (site_id, visitor_id) keys of the visits in the book (stored or new)."""
        return self._by_key.keys()

    def find_open(self, site_id: int, visitor_ids: Iterable[int], ts: int) -> VisitState | None:
        """The open visit for the first id that has one (previous day's salt first: a visit that
        crosses midnight keeps the visitor id it started with)."""
        for vid in visitor_ids:
            state = self._by_key.get((site_id, vid))
            if state is not None and state.is_open_at(ts):
                return state
        return None

    def start(self, site_id: int, visitor_id: int, ts: int, attributes: dict[str, Any]) -> VisitState:
        state = VisitState(self._next_id, site_id, visitor_id, ts, ts, is_new=True, attributes=attributes)
        self._next_id += 1
        self._by_key[(site_id, visitor_id)] = state
        self.created.append(state)
        return state

    def changed(self) -> list[VisitState]:
        return [s for s in self._loaded if s.dirty]

    def by_id(self) -> dict[int, VisitState]:
        return {s.id: s for s in (*self._loaded, *self.created)}
