"""Stamps verified at a writers' mark: the fast path of the kept rollups' validity check
(docs/rollups.md "Kept rollups on ClickHouse", "The fast path").

Reading a day's stamp from ClickHouse means reading the day tops of its window (~16 ms CPU at 10M
events). This process remembers, per events connection, the writers' mark (day_counts.writers_mark)
read before the last such read and the stamps it found. While the mark is unchanged with nothing
pending, no batch was planned or stored since (every spool's seq only grows, so an equal sum is an
equal seq for each), so no row reached ClickHouse through a writer and every stamp found then is
still the current one: a day whose kept stamp equals the remembered one is current without reading
the day tops. Rows that reach ClickHouse without a writer (`events copy`) clear the kept stamps,
which the check reads every time, so it then falls back to the day tops.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

from analytics_mcp.storage.clickhouse.client import ClickHouseEvents

Key = tuple[int, int]  # (site_id, local day)
Stamp = tuple[str, int, int, int, int]  # zone, events max id, version, visits max id, version
Mark = tuple[int, int]  # (sum of the spools' latest seqs, spools with a batch pending)
Wanted = Mapping[int, tuple[ZoneInfo, set[int]]]  # site -> (zone, local days)

MAX_REMEMBERED = 200_000  # (site, day) stamps per connection: a host of many sites stays bounded


@dataclass
class _Verified:
    mark: Mark
    stamps: dict[Key, Stamp] = field(default_factory=dict)


_VERIFIED: WeakKeyDictionary[ClickHouseEvents, _Verified] = WeakKeyDictionary()
_GUARD = threading.Lock()


def still_current(events: ClickHouseEvents, mark: Mark, held: Mapping[Key, Stamp], wanted: Wanted) -> bool:
    """Whether every wanted day's kept stamp (`held`) is the one found current at this same mark
    with nothing pending, in the site's zone of today's query."""
    if mark[1] != 0:
        return False
    with _GUARD:
        verified = _VERIFIED.get(events)
        if verified is None or verified.mark != mark:
            return False
        for site_id, (zone, days) in wanted.items():
            for day in days:
                stamp = held.get((site_id, day))
                if stamp is None or stamp[0] != zone.key or verified.stamps.get((site_id, day)) != stamp:
                    return False
    return True


def remember(events: ClickHouseEvents, mark: Mark, stamps: Mapping[Key, Stamp]) -> None:
    """Record stamps read from the day tops after `mark` was read: current while the mark holds.
    A mark with a batch pending proves nothing (the batch may store rows below the maxima)."""
    if mark[1] != 0:
        return
    with _GUARD:
        verified = _VERIFIED.get(events)
        if verified is None or verified.mark != mark or len(verified.stamps) > MAX_REMEMBERED:
            verified = _VERIFIED[events] = _Verified(mark)
        verified.stamps.update(stamps)
