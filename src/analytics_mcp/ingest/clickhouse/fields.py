"""A writer batch's fields, each read once per event by a C-level map or taken as the spool frames
hold them.

The frames the batch was gathered from (spool/columns.py `frame`, handed by the gather thread or
decoded) already hold one sequence per field: when they hold exactly the batch's events, a field
is their columns joined, and a field no event has (props, revenue, user id... in the common
batch) costs nothing per event. Otherwise (a frame of the previous kind, a deleted site's events
left out, events stored without the spool) each field is read from the prepared events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt

from analytics_mcp.ingest.event import PendingEvent, PreparedEvent
from analytics_mcp.ingest.sites import SiteInfo
from analytics_mcp.ingest.spool.columns import joined
from analytics_mcp.ingest.spool.frame_events import FramedEvents

Ints = npt.NDArray[np.int64]
# The prepared event's fields, not its event's (a frame holds them as columns too).
_OF_ITEM = {
    "visitor_ids": "visitor_ids", "hostname": "hostname", "pathname": "pathname",
    "browser": "client.browser", "os": "client.os", "device_type": "client.device_type",
}  # fmt: skip
# What plain_rows reads of an event (the checks, then the plain events' columns, then the
# visits' first events').
READ = (
    "ts", "name", "user_id", "side_row", "items", "props", "interactive", "revenue", "currency",
    "transaction_id", "event_id", "engagement_ms", "scroll_depth", "url", "referrer", "language",
    "country", *_OF_ITEM,
)  # fmt: skip


@dataclass
class Columns:
    """The fields every event is checked by, one list each, and the rest on demand (`pick`)."""

    live: Sequence[PreparedEvent]
    events: list[PendingEvent]  # read per field when `given` is None
    ts: Sequence[int]
    names: Sequence[str]
    sites: list[SiteInfo]
    visitors: Sequence[tuple[int, ...]]
    given: dict[str, Sequence[Any] | None] | None = None  # the frames' columns (None: no event has it)

    def absent(self, name: str) -> bool:
        """No event has the field, as the frames say (False: not known, read it)."""
        return self.given is not None and self.given[name] is None

    def pick(self, names: Sequence[str], positions: list[int]) -> dict[str, Sequence[Any]]:
        """The fields `names` of the events at `positions`, in that order."""
        take = _taker(positions)
        if self.given is not None:
            nothing = (None,) * len(positions)
            return {name: nothing if (c := self.given[name]) is None else take(c) for name in names}
        events = take(self.events)
        live = take(self.live) if any(name in _OF_ITEM for name in names) else ()
        return {
            name: _field(live, _OF_ITEM[name]) if name in _OF_ITEM else _field(events, name) for name in names
        }


@dataclass
class Groups:
    """The batch's visitor groups: each event's group, each group's (site id, visitor ids), and
    each group's (site id, visitor id) pairs, group after group."""

    of_event: Ints
    keys: list[tuple[int, tuple[int, ...]]]
    pairs: list[tuple[int, int]]


def columns(live: Sequence[PreparedEvent], frames: list[dict[str, Any]] | None = None) -> Columns:
    """`frames`: the spool frames holding exactly `live`, in order (None: not known). Events read
    from their frames on demand (FramedEvents) are not built here: their sites come from the
    frames too."""
    given = joined(frames, READ) if frames and live else None
    if given is None:
        events = _field(live, "event")
        ts, names, visitors = _field(events, "ts"), _field(events, "name"), _field(live, "visitor_ids")
        return Columns(live, events, ts, names, _field(live, "site"), visitors)
    ts_, names_, visitors_ = (_present(given, name) for name in ("ts", "name", "visitor_ids"))
    sites = live.sites() if isinstance(live, FramedEvents) else _field(live, "site")
    return Columns(live, [], ts_, names_, sites, visitors_, given)


def groups(cols: Columns) -> Groups:
    index: dict[tuple[int, tuple[int, ...]], int] = {}
    keys = zip(map(attrgetter("id"), cols.sites), cols.visitors, strict=True)
    of_event = [index.setdefault(key, len(index)) for key in keys]
    pairs = [(site_id, vid) for site_id, ids in index for vid in ids]
    return Groups(np.array(of_event, dtype=np.int64), list(index), pairs)


def _present(given: dict[str, Sequence[Any] | None], name: str) -> Sequence[Any]:
    column = given[name]
    assert column is not None, f"{name}: every event has one"
    return column


def take(column: Sequence[Any], positions: list[int]) -> Sequence[Any]:
    """The values at `positions` (one C-level itemgetter)."""
    return _taker(positions)(column)


def _taker(positions: list[int]) -> Callable[[Sequence[Any]], Sequence[Any]]:
    if len(positions) > 1:
        return itemgetter(*positions)
    return lambda column: tuple(column[p] for p in positions)


def _field(objects: Sequence[Any], name: str) -> list[Any]:
    return list(map(attrgetter(name), objects))
