"""The common case of a ClickHouse batch as columns: pageviews, custom events and engagement
reports of visitors whose visits this batch alone makes, computed with a few numpy passes instead
of `RowWriter.add` per event, with exactly the rows the per-event path computes
(tests/test_plain_rows.py compares both on random batches).

An event is plain when it carries no user id, side row or items and completes no goal of its site.
A visitor group (site, visitor ids) is plain when all its events are plain, none of its visitor ids
is another group's, and no stored visit of those ids may still be open: then its visits are its
own, and the 30-minute rule over its events in time order cuts them (a visit is open at ts while
ts < its latest event + 30 min; its start is never later). An engagement report with no open visit
is dropped (`_open_engagement`); the others add to the latest pageview of their path in their
visit (`_engagement`). Every other event goes through `RowWriter.add` as before, in time order,
with provisional ids (from `PROVISIONAL` on); `merged_ids` then numbers both kinds in time order as
the per-event path does (an event id per stored event, a visit id per visit, by its first event).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from operator import attrgetter, is_not, truth
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]

from analytics_mcp.definitions import VISIT_GAP_MS
from analytics_mcp.ingest.clickhouse.fields import Columns, Groups, Ints, take
from analytics_mcp.ingest.goals import GoalMatcher
from analytics_mcp.ingest.rows import EVENT_COLUMNS, VISIT_COLUMNS, visit_values_of
from analytics_mcp.ingest.visits import VisitBook

Flags = npt.NDArray[np.bool_]
Column = Sequence[Any] | Ints  # (a pyarrow array too: untyped, Any)
PROVISIONAL = 1 << 60  # above every stored id: ids the per-event path gives before merging
# A visit's first event's fields its attributes come from (rows.visit_values_of, the site aside).
_FIRST_EVENT = ("url", "referrer", "device_type", "browser", "os", "language", "country")
_PLAIN_FIELDS = (
    "props", "interactive", "revenue", "currency", "transaction_id", "event_id",
    "engagement_ms", "scroll_depth",
)  # fmt: skip
assert VISIT_COLUMNS[:12] == (
    "id", "site_id", "visitor_id", "started_at", "ended_at", "last_pageview_id", "last_pageview_at",
    "pageviews", "events", "interactions", "entry_path", "exit_path",
)  # fmt: skip


@dataclass
class PlainRows:
    """The plain events' rows without their final ids: each event's and visit's time rank (a
    visit's is its first event's), the columns (EVENT_COLUMNS order; the integer ones as numpy
    arrays or a pyarrow array, which pyarrow takes without a Python object per value) and visit rows
    (VISIT_COLUMNS order), each event's visit and each visit's latest pageview (-1: none)."""

    event_ranks: Ints
    visit_ranks: Ints
    event_columns: list[Column]
    visit_columns: list[Column]
    visit_of_event: Ints
    last_pageview: Ints
    dropped: Ints  # positions (into the batch) of engagement reports with no open visit

    def finish(self, event_ids: Ints, visit_ids: Ints) -> None:
        """Fill in the ids `merged_ids` gave."""
        self.event_columns[0] = event_ids  # numpy: handed to pyarrow as it is
        self.event_columns[2] = visit_ids[self.visit_of_event]
        self.visit_columns[0] = visit_ids
        none = self.last_pageview < 0
        self.visit_columns[5] = pa.array(event_ids[np.maximum(self.last_pageview, 0)], mask=none)


def plain(cols: Columns, grouped: Groups, book: VisitBook) -> Flags:
    """Which events are plain (see the module). `book` holds the stored visits that may be open."""
    n = len(cols.ts)
    group_ok = np.ones(len(grouped.keys), np.bool_)
    # The other checks read only the events of groups still in (tracker traffic: none; every
    # visit has engagement reports), each field by one attrgetter map in C.
    given = partial(is_not, None)
    for name, bad in (("user_id", given), ("side_row", given), ("items", truth)):
        positions = np.flatnonzero(group_ok[grouped.of_event])
        if len(positions) == 0:
            return np.zeros(n, np.bool_)
        if cols.absent(name):
            continue
        values = cols.pick((name,), positions.tolist())[name]
        failed = np.fromiter(map(bad, values), np.bool_, len(positions))
        group_ok[grouped.of_event[positions[failed]]] = False
    # A group whose visitor id is another group's too, or has a stored visit that may be open:
    # each (site, visitor id) pair once per group holding it, counted in C.
    pairs = grouped.pairs
    counts = Counter(pairs)
    taken = {pair for pair, count in counts.items() if count > 1} | (book.keys() & counts.keys())
    if taken:
        holder = np.repeat(np.arange(len(grouped.keys)), [len(ids) for _site, ids in grouped.keys])
        group_ok[holder[np.fromiter(map(taken.__contains__, pairs), np.bool_, len(pairs))]] = False
    flags: Flags = group_ok[grouped.of_event]
    sites = dict(zip(map(id, cols.sites), cols.sites, strict=True))  # SiteInfo objects are shared
    goals = {site.id: site.goals for site in sites.values() if site.goals}
    if goals and flags.any():
        group_ok[grouped.of_event[_goal_hits(cols, goals, np.flatnonzero(flags))]] = False
        flags = group_ok[grouped.of_event]
    return flags


def _goal_hits(cols: Columns, goals: dict[int, tuple[GoalMatcher, ...]], positions: Ints) -> Ints:
    """Those of `positions` whose event completes a goal of its site (checked once per site,
    name and path)."""
    at = positions.tolist()
    paths = cols.pick(("pathname",), at)["pathname"]
    keys = [(cols.sites[p].id, cols.names[p], path) for p, path in zip(at, paths, strict=True)]
    hits = {key for key in set(keys) if any(goal.matches(key[1], key[2]) for goal in goals.get(key[0], ()))}
    return positions[np.fromiter(map(hits.__contains__, keys), np.bool_, len(keys))]


def compute(cols: Columns, grouped: Groups, flags: Flags, rank: Ints, ts: Ints) -> PlainRows:
    """The rows of the plain events (`flags`), `rank`: each event's place in time order."""
    positions = np.flatnonzero(flags)
    order = positions[np.lexsort((rank[positions], grouped.of_event[positions]))]
    order, dropped = _open_engagement(order, cols, grouped, ts)
    n = len(order)
    if n == 0:
        none = np.zeros(0, np.int64)
        return PlainRows(
            none, none, [()] * len(EVENT_COLUMNS), [()] * len(VISIT_COLUMNS), none, none, dropped
        )
    order_list = order.tolist()
    picked = cols.pick((*_PLAIN_FIELDS, "hostname", "pathname"), order_list)
    names, paths = take(cols.names, order_list), picked["pathname"]
    times, group = ts[order], grouped.of_event[order]
    new_visit = np.ones(n, np.bool_)
    new_visit[1:] = (group[1:] != group[:-1]) | (times[1:] - times[:-1] >= VISIT_GAP_MS)
    visit_of_event = np.cumsum(new_visit, dtype=np.int64) - 1
    firsts = np.flatnonzero(new_visit)
    is_pageview = np.fromiter(map("pageview".__eq__, names), np.bool_, n)
    interactive = np.fromiter(picked["interactive"], np.bool_, n) & ~is_pageview
    last_pageview = np.maximum.reduceat(np.where(is_pageview, np.arange(n), -1), firsts)
    counts = {
        "pageviews": np.add.reduceat(is_pageview.astype(np.int64), firsts),
        "events": np.diff(np.append(firsts, n)),
        "interactions": np.add.reduceat(interactive.astype(np.int64), firsts),
        "ended_at": times[np.append(firsts[1:], n) - 1],  # times grow within a group
    }
    site_ids = np.array([key[0] for key in grouped.keys], dtype=np.int64)[group]
    visitors = np.array([key[1][-1] for key in grouped.keys], dtype=np.int64)[group]
    counts |= {
        "site_id": site_ids[firsts],
        "visitor_id": visitors[firsts],
        "started_at": times[firsts],
        "last_pageview_at": times[np.maximum(last_pageview, 0)],
    }
    visit_columns = _visit_columns(cols, order[firsts], paths, firsts, last_pageview, counts)
    event_columns: list[Column] = [
        (), site_ids, (), visitors, times, names, picked["hostname"], paths,
        picked["props"], picked["interactive"],
        *_engagement(names, paths, picked, visit_of_event, is_pageview),
        _gaps(times, is_pageview, visit_of_event), picked["revenue"], picked["currency"],
        picked["transaction_id"], picked["event_id"], (None,) * n,
    ]  # fmt: skip
    return PlainRows(
        rank[order], rank[order][firsts], event_columns, visit_columns, visit_of_event, last_pageview, dropped
    )


def _open_engagement(order: Ints, cols: Columns, grouped: Groups, ts: Ints) -> tuple[Ints, Ints]:
    """`order` without the engagement reports that find no open visit (RowWriter.add drops them):
    one opening its group or following a 30-minute gap since the group's previous kept event.
    A dropped report moves no visit's end, which can leave a later one without an open visit, so
    this repeats until none is dropped. The kept order, and the dropped positions."""
    engagement = np.fromiter(
        map("engagement".__eq__, map(cols.names.__getitem__, order.tolist())), np.bool_, len(order)
    )
    if not engagement.any():
        return order, order[:0]
    times, group, steps = ts[order], grouped.of_event[order], np.arange(len(order))
    kept = np.ones(len(order), np.bool_)
    while True:
        before = np.concatenate(([-1], np.maximum.accumulate(np.where(kept, steps, -1))[:-1]))
        at = np.maximum(before, 0)
        is_open = (before >= 0) & (group[at] == group) & (times - times[at] < VISIT_GAP_MS)
        lone = engagement & kept & ~is_open
        if not lone.any():
            return order[kept], order[~kept]
        kept &= ~lone


def _engagement(
    names: Sequence[str],
    paths: Sequence[str],
    picked: dict[str, Sequence[Any]],
    visit_of_event: Ints,
    is_pageview: Flags,
) -> tuple[Sequence[Any], Sequence[Any]]:
    """The engaged_ms and scroll_depth columns: a report's own values on its row, and on the
    latest pageview of its path in its visit before it the sum of the reports' milliseconds and
    their deepest scroll (RowWriter._engage on a new visit)."""
    n = len(names)
    reports = np.fromiter(map("engagement".__eq__, names), np.bool_, n)
    if not reports.any():
        return (None,) * n, (None,) * n
    engaged, scroll = np.full(n, None, dtype=object), np.full(n, None, dtype=object)
    own = np.flatnonzero(reports)
    engaged[own] = [picked["engagement_ms"][i] for i in own.tolist()]
    scroll[own] = [picked["scroll_depth"][i] for i in own.tolist()]
    path_ids: dict[str, int] = {}
    path_of = np.fromiter((path_ids.setdefault(p, len(path_ids)) for p in paths), np.int64, n)
    by_page = np.lexsort((np.arange(n), path_of, visit_of_event))  # (visit, path, time)
    latest = np.maximum.accumulate(np.where(is_pageview[by_page], np.arange(n), -1))
    at = np.flatnonzero(reports[by_page])
    found = np.maximum(latest[at], 0)
    same = (latest[at] >= 0) & (visit_of_event[by_page[found]] == visit_of_event[by_page[at]])
    same &= path_of[by_page[found]] == path_of[by_page[at]]
    target, source = by_page[found[same]], by_page[at[same]].tolist()
    if len(target):
        total, deepest = np.zeros(n, np.int64), np.zeros(n, np.int64)
        np.add.at(total, target, [picked["engagement_ms"][i] or 0 for i in source])
        np.maximum.at(deepest, target, [picked["scroll_depth"][i] or 0 for i in source])
        pages = np.unique(target)
        engaged[pages], scroll[pages] = total[pages].tolist(), deepest[pages].tolist()
    return engaged.tolist(), scroll.tolist()


def _gaps(ts: Ints, is_pageview: Flags, visit_of_event: Ints) -> Any:
    """A pageview's gap: the time to the next pageview of its visit (null for the last), as a
    pyarrow int64 array (values and a null mask from numpy)."""
    pageviews = np.flatnonzero(is_pageview)
    followed = visit_of_event[pageviews[1:]] == visit_of_event[pageviews[:-1]]
    at, nxt = pageviews[:-1][followed], pageviews[1:][followed]
    gaps, absent = np.zeros(len(ts), np.int64), np.ones(len(ts), np.bool_)
    gaps[at], absent[at] = ts[nxt] - ts[at], False
    return pa.array(gaps, mask=absent)


def _visit_columns(
    cols: Columns,
    starts: Ints,
    paths: Sequence[str],
    firsts: Ints,
    last_pageview: Ints,
    counts: dict[str, Ints],
) -> list[Column]:
    """The visits' columns (VISIT_COLUMNS order); id and last_pageview_id are filled by
    `PlainRows.finish`. Numbers stay numpy (the last pageview's time a pyarrow array with nulls):
    only the attributes are read per visit, from its first event's fields (`starts`: its position
    in the batch, `firsts`: among the plain events)."""
    none = last_pageview < 0
    firsts_list, at = firsts.tolist(), starts.tolist()
    got = cols.pick(_FIRST_EVENT, at)
    domains = map(attrgetter("domain"), take(cols.sites, at))
    attributes = list(map(visit_values_of, *(got[name] for name in _FIRST_EVENT[:2]), domains,
                          *(got[name] for name in _FIRST_EVENT[2:])))  # fmt: skip
    exits = [paths[pv] if pv >= 0 else None for pv in last_pageview.tolist()]
    return [
        (), counts["site_id"], counts["visitor_id"], counts["started_at"], counts["ended_at"], (),
        pa.array(counts["last_pageview_at"], mask=none), counts["pageviews"], counts["events"],
        counts["interactions"], [paths[first] for first in firsts_list], exits,
        *zip(*attributes, strict=True),
    ]  # fmt: skip


def merged_ids(plain_ranks: Ints, other_ranks: Ints, base: int) -> tuple[Ints, Ints]:
    """Ids from `base` in time order for rows of both kinds, by their ranks: (plain's, other's)."""
    ranks = np.concatenate([plain_ranks, other_ranks])
    ids = np.empty(len(ranks), np.int64)
    ids[np.argsort(ranks, kind="stable")] = np.arange(base, base + len(ranks), dtype=np.int64)
    return ids[: len(plain_ranks)], ids[len(plain_ranks) :]
