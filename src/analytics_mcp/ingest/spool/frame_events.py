"""A writer batch's events read from its column frames on demand.

The writer computes the common rows from the frames' columns (clickhouse/plain_rows.py) and needs
whole events only where those columns do not do: the first event of each visit, and the events
that go through `RowWriter.add` one by one. Building a `PreparedEvent` for every event (decoding a
frame, or the gather thread's objects handed over and renumbered) was Python per event under the
GIL the acknowledgements need too; here an event is built when it is first read, as
`columns.decode` would build it, and kept.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from itertools import accumulate
from typing import Any, overload

from analytics_mcp.ingest.event import PreparedEvent
from analytics_mcp.ingest.sites import SiteInfo
from analytics_mcp.ingest.spool.columns import event_at


class FramedEvents(Sequence[PreparedEvent]):
    """The events of column frames, numbered from 0 in order, each with its site as the writer's
    registry has it now (`site_of`, which must hold every (domain, site id) of the frames)."""

    def __init__(self, frames: list[dict[str, Any]], site_of: dict[tuple[str, int], SiteInfo]) -> None:
        self.frames = frames
        self._ends = list(accumulate(len(frame["site_id"]) for frame in frames))
        self._site_of = site_of
        self._made: dict[int, PreparedEvent] = {}

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    @overload
    def __getitem__(self, position: int) -> PreparedEvent: ...

    @overload
    def __getitem__(self, position: slice) -> list[PreparedEvent]: ...

    def __getitem__(self, position: int | slice) -> PreparedEvent | list[PreparedEvent]:
        if isinstance(position, slice):
            return [self[p] for p in range(len(self))[position]]
        if position < 0:
            position += len(self)
        made = self._made.get(position)
        if made is None:
            made = self._made[position] = self._make(position)
        return made

    def __iter__(self) -> Iterator[PreparedEvent]:
        return map(self.__getitem__, range(len(self)))

    def sites(self) -> list[SiteInfo]:
        """Each event's site, in order (a C-level map per frame, no event built)."""
        out: list[SiteInfo] = []
        for frame in self.frames:
            out += map(self._site_of.__getitem__, zip(frame["domain"], frame["site_id"], strict=True))
        return out

    def _make(self, position: int) -> PreparedEvent:
        if not 0 <= position < len(self):
            raise IndexError(position)
        at = bisect_right(self._ends, position)
        frame = self.frames[at]
        offset = position - (self._ends[at - 1] if at else 0)
        site = self._site_of[(frame["domain"][offset], frame["site_id"][offset])]
        return event_at(frame, offset, site, position)


def framed_events(
    frames: list[dict[str, Any]], site_of: dict[tuple[str, int], SiteInfo | None]
) -> FramedEvents | None:
    """The frames' events on demand, when every site of theirs is still there (else None: decode
    them, leaving out a deleted site's)."""
    if None in site_of.values():
        return None
    return FramedEvents(frames, {key: site for key, site in site_of.items() if site is not None})
