"""Spooled frames handed from the gather thread to a writer thread of the same process (chDB).

The spool stays the durability point: every frame is appended and fsynced before its 202, and the
writer still reads every frame it stores from the spool, in order. What it skips is unpickling a
frame the gather thread has just pickled in this process: it takes that frame's columns (the dict
spool/columns.py `frame` gave, what was pickled) from here instead, and reads its events from
them on demand (spool/frame_events.py). After a restart, a failed attempt, or when too many events
wait, a frame is not here and the writer unpickles it as before.
"""

from __future__ import annotations

import threading
from typing import Any, Final

LIMIT: Final = 200_000  # events held at most: a backlog beyond it is read from the spool


class FreshFrames:
    """The columns of frames spooled and not yet read by the writer, by frame end offset."""

    def __init__(self, limit: int = LIMIT) -> None:
        self._frames: dict[int, dict[str, Any]] = {}
        self._events = 0
        self._limit = limit
        self._lock = threading.Lock()

    def offer(self, end: int, frame: dict[str, Any]) -> None:
        """The frame ending at `end` was pickled from `frame`; the caller no longer touches it."""
        count = len(frame["site_id"])
        with self._lock:
            if self._events + count <= self._limit:
                self._frames[end] = frame
                self._events += count

    def take(self, end: int) -> dict[str, Any] | None:
        """The columns of the frame ending at `end`, once; None: read it from the spool. The
        writer reads frames in order, so frames ending before `end` were read already (or set
        aside): dropped."""
        with self._lock:
            for stale in [e for e in self._frames if e < end]:
                self._events -= len(self._frames.pop(stale)["site_id"])
            handed = self._frames.pop(end, None)
            if handed is not None:
                self._events -= len(handed["site_id"])
            return handed

    @property
    def events(self) -> int:
        return self._events
