"""Visits (sessions): consecutive events of one visitor on one site with gaps under 30 minutes.

A batch loads the candidate open visits once, evolves them in memory event by event, and the
writer persists new and changed visits in the same transaction as the events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from analytics_mcp.storage.schema import visits

VISIT_GAP_MS = 30 * 60 * 1000
_LOOKUP_CHUNK = 400
_STATE_COLUMNS = (
    "id",
    "site_id",
    "visitor_id",
    "started_at",
    "ended_at",
    "last_pageview_id",
    "pageviews",
    "events",
    "interactions",
    "exit_path",
)


@dataclass(slots=True)
class VisitState:
    site_id: int
    visitor_id: int
    started_at: int
    ended_at: int
    id: int | None = None  # None until inserted
    attributes: dict[str, Any] = field(default_factory=dict)  # new visits only
    last_pageview_id: str | None = None
    last_pageview_ts: int | None = None
    pageviews: int = 0
    events: int = 0
    interactions: int = 0
    exit_path: str | None = None
    dirty: bool = False
    # Pageview rows of this batch by path (latest), for engagement reports.
    batch_pageviews: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def is_new(self) -> bool:
        return self.id is None

    def is_open_at(self, ts: int) -> bool:
        return self.started_at - VISIT_GAP_MS < ts < self.ended_at + VISIT_GAP_MS

    def touch(self, ts: int) -> None:
        self.started_at = min(self.started_at, ts)
        self.ended_at = max(self.ended_at, ts)
        self.dirty = True

    def update_row(self) -> dict[str, Any]:
        return {
            "b_id": self.id,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "last_pageview_id": self.last_pageview_id,
            "pageviews": self.pageviews,
            "events": self.events,
            "interactions": self.interactions,
            "exit_path": self.exit_path,
        }

    def insert_row(self) -> dict[str, Any]:
        row = self.update_row()
        del row["b_id"]
        row.update(self.attributes, site_id=self.site_id, visitor_id=self.visitor_id)
        return row


class VisitBook:
    """The visits one batch may touch, keyed by (site_id, visitor_id); latest visit wins."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[int, int], VisitState] = {}
        self._loaded: list[VisitState] = []  # all stored visits read, even when a newer one took the key
        self.created: list[VisitState] = []

    def load(self, conn: Connection, keys: Iterable[tuple[int, int]], since_ms: int) -> None:
        by_site: dict[int, set[int]] = {}
        for site_id, vid in keys:
            by_site.setdefault(site_id, set()).add(vid)
        cols = [visits.c[name] for name in _STATE_COLUMNS]
        for site_id, ids in by_site.items():
            id_list = sorted(ids)
            for start in range(0, len(id_list), _LOOKUP_CHUNK):
                chunk = id_list[start : start + _LOOKUP_CHUNK]
                stmt = (
                    select(*cols)
                    .where(visits.c.site_id == site_id, visits.c.visitor_id.in_(chunk))
                    .where(visits.c.ended_at >= since_ms - VISIT_GAP_MS)
                    .order_by(visits.c.ended_at)
                )
                for row in conn.execute(stmt):
                    state = VisitState(
                        site_id=site_id,
                        visitor_id=row.visitor_id,
                        started_at=row.started_at,
                        ended_at=row.ended_at,
                        id=row.id,
                        last_pageview_id=row.last_pageview_id,
                        pageviews=row.pageviews,
                        events=row.events,
                        interactions=row.interactions,
                        exit_path=row.exit_path,
                    )
                    self._by_key[(site_id, row.visitor_id)] = state
                    self._loaded.append(state)

    def find_open(self, site_id: int, visitor_ids: Iterable[int], ts: int) -> VisitState | None:
        """The open visit for the first id that has one (previous day's salt first: a visit that
        crosses midnight keeps the visitor id it started with)."""
        for vid in visitor_ids:
            state = self._by_key.get((site_id, vid))
            if state is not None and state.is_open_at(ts):
                return state
        return None

    def start(self, site_id: int, visitor_id: int, ts: int, attributes: dict[str, Any]) -> VisitState:
        state = VisitState(site_id, visitor_id, ts, ts, attributes=attributes, dirty=True)
        self._by_key[(site_id, visitor_id)] = state
        self.created.append(state)
        return state

    def changed(self) -> list[VisitState]:
        return [s for s in self._loaded if s.dirty]
