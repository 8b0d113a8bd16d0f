"""Kept subsets on ClickHouse (docs/rollups.md "Kept subsets"): the rollup rows of one site under a
set of filters (on visit attributes, on pages, or both), kept like a site's
(rollups/clickhouse_kept.py) under the key -id of their `rollup_subsets` row, so the rollups store
answers a filtered query from them.

A read never computes a subset: it answers from ClickHouse's raw rows. The first read of a filter
set registers it; a later read hands the subset's days to one background thread per process
(`keep_later`), which brings them current one subset at a time; the reads after that find them
current. A subset not read for EVICT_DAYS is dropped with its rows when the thread next runs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from analytics_mcp.rollups.clickhouse_kept import Subset, bring_current
from analytics_mcp.storage.clickhouse.client import ClickHouseEvents
from analytics_mcp.storage.db import Database
from analytics_mcp.storage.kept_rollups_schema import rollup_stamps, rollup_subsets
from analytics_mcp.storage.schema import rollup_daily, rollup_visitors

EVICT_DAYS = 7  # a subset unread this long is dropped (its rows are a cache of ClickHouse's)
log = logging.getLogger(__name__)


def subset_id(kept: Database, site_id: int, filters: str, today: int) -> int | None:
    """The id of the kept subset of this site and canonical filter set (None: not kept), marked
    read today (one write a day). A read marks it before it checks the stamps, so an eviction
    either ran before (the stamps are gone: the read answers raw) or leaves it alone."""
    s = rollup_subsets.c
    with kept.reader.connect() as conn:
        row = conn.execute(select(s.id, s.used_day).where(s.site_id == site_id, s.filters == filters)).first()
    if row is None:
        return None
    if row.used_day < today:
        with kept.sync.begin() as conn:
            conn.execute(update(rollup_subsets).where(s.id == row.id).values(used_day=today))
    return int(row.id)


def register(kept: Database, site_id: int, filters: str, today: int) -> None:
    """Remember the subset, read today (another server registering it at once: its row stands)."""
    try:
        with kept.sync.begin() as conn:
            conn.execute(insert(rollup_subsets).values(site_id=site_id, filters=filters, used_day=today))
    except IntegrityError:
        pass


def evict(kept: Database, today: int) -> int:
    """Drop the subsets unread for EVICT_DAYS, rows and stamps included; how many."""
    s = rollup_subsets.c
    with kept.sync.begin() as conn:
        old = [int(i) for i in conn.execute(select(s.id).where(s.used_day < today - EVICT_DAYS)).scalars()]
        for table in (rollup_stamps, rollup_daily, rollup_visitors):
            conn.execute(delete(table).where(table.c.site_id.in_([-i for i in old])))
        conn.execute(delete(rollup_subsets).where(s.id.in_(old)))
    return len(old)


Job = tuple[ClickHouseEvents, Database, Subset, ZoneInfo, frozenset[int]]

# One thread per process keeps subsets, one at a time: a subset's 30 days are seconds of ClickHouse
# CPU, which must not crowd out the reads. Jobs already queued are not queued again.
_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kept-subsets")
_QUEUED: dict[tuple[int, int, frozenset[int]], Future[None]] = {}
_QUEUED_GUARD = threading.Lock()


def keep_later(job: Job, today: int) -> Future[None]:
    """Bring the subset's days current in the background thread (then evict old subsets)."""
    events, _kept, subset, _zone, days = job
    key = (id(events), subset.id, days)
    with _QUEUED_GUARD:
        queued = _QUEUED.get(key)
        if queued is not None and not queued.done():
            return queued
        future = _EXECUTOR.submit(_keep, job, today)
        _QUEUED[key] = future
    future.add_done_callback(lambda _: _forget(key))
    return future


def idle() -> None:
    """Return once every job queued so far is done (the thread runs them in order): for the
    benchmark's fill and the tests."""
    _EXECUTOR.submit(lambda: None).result()


@contextmanager
def paused() -> Iterator[None]:
    """Hold the thread within this block (jobs queue, none runs): the benchmark times the reads of
    subsets not kept yet without the computation beside them."""
    gate = threading.Event()
    _EXECUTOR.submit(gate.wait)
    try:
        yield
    finally:
        gate.set()


def _forget(key: tuple[int, int, frozenset[int]]) -> None:
    with _QUEUED_GUARD:
        _QUEUED.pop(key, None)


def _keep(job: Job, today: int) -> None:
    events, kept, subset, zone, days = job
    try:
        bring_current(events, kept, {subset.key: (zone, set(days))}, {subset.key: subset})
        evict(kept, today)
    except Exception:  # a background cache: the reads answer raw meanwhile; say why, retry next read
        log.exception("keeping subset %s of site %s failed", subset.id, subset.site_id)
