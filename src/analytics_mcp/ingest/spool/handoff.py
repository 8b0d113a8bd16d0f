"""Spooled frames handed from the gather thread to a writer thread of the same process (chDB).

The spool stays the durability point: every frame is appended and fsynced before its 202, and the
writer still reads every frame it stores from the spool, in order. What it skips is decoding a
frame the gather thread has just encoded in this process: it takes that frame's prepared events
from here instead (`decode(encode(live))` gives back the same events; the raw IP and User-Agent
they still hold are read by nothing that stores). After a restart, a failed attempt, or when too
many events wait, a frame is not here and the writer decodes it as before.

Decoding was the writer's largest step after computing rows (about 1.6 us an event of Python
under the GIL that the requests need too). The frame's columns (spool/columns.py `frame`, what
was pickled) come along: the writer computes its common rows from them (clickhouse/plain_rows.py).
"""

from __future__ import annotations

import threading
from typing import Any, Final

from sqlalchemy import Connection

from analytics_mcp.ingest.event import PreparedEvent
from analytics_mcp.ingest.sites import SiteInfo, SiteRegistry

LIMIT: Final = 200_000  # events held at most: a backlog beyond it is decoded from the spool


class FreshFrames:
    """Prepared events of frames spooled and not yet read by the writer, with the frame's columns,
    by frame end offset."""

    def __init__(self, limit: int = LIMIT) -> None:
        self._frames: dict[int, tuple[list[PreparedEvent], dict[str, Any]]] = {}
        self._events = 0
        self._limit = limit
        self._lock = threading.Lock()

    def offer(self, end: int, live: list[PreparedEvent], frame: dict[str, Any]) -> None:
        """The frame ending at `end` holds `live`, pickled from `frame`; the caller no longer
        touches them (the writer renumbers the events)."""
        with self._lock:
            if self._events + len(live) <= self._limit:
                self._frames[end] = (live, frame)
                self._events += len(live)

    def take(self, end: int) -> tuple[list[PreparedEvent], dict[str, Any]] | None:
        """The events and columns of the frame ending at `end`, once; None: decode it. The writer
        reads frames in order, so frames ending before `end` were read already (or set aside):
        dropped."""
        with self._lock:
            for stale in [e for e in self._frames if e < end]:
                self._events -= len(self._frames.pop(stale)[0])
            handed = self._frames.pop(end, None)
            if handed is not None:
                self._events -= len(handed[0])
            return handed

    @property
    def events(self) -> int:
        return self._events


def renumbered(
    live: list[PreparedEvent], conn: Connection, sites: SiteRegistry, start: int
) -> list[PreparedEvent]:
    """A handed frame's events as `decode` gives a frame's: numbered from `start`, each with its
    site as the writer's registry has it now, those of a site deleted since left out."""
    now: dict[tuple[str, int], SiteInfo | None] = {}
    for domain, site_id in {(item.site.domain, item.site.id) for item in live}:
        site = sites.lookup(conn, domain)
        now[(domain, site_id)] = site if site is not None and site.id == site_id else None
    kept: list[PreparedEvent] = []
    for item in live:
        site = now[(item.site.domain, item.site.id)]
        if site is not None:
            item.index, item.site = start + len(kept), site
            kept.append(item)
    return kept
