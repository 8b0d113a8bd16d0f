"""A/B events stored once per sliding window (the tracking call is safe to retry: docs/ab-testing.md).

Identical events (same visitor, session, type and data) less than `DEDUP_WINDOW_MS` apart are one
event, wherever the clock's 30-second buckets fall. Two layers:

- This process remembers when it last took each event (by its window-free key) *before* the event
  is submitted. A retry or a concurrent duplicate is therefore caught while the first is still
  being written or waits in the spool, where the table lookup below cannot see it. A duplicate of
  an event still in flight waits for its outcome; if the first was not stored (storage failure,
  dropped), the duplicate is judged on its own, so no 201 is ever given for an event not stored.
- Across restarts, the stored ids: an event's id is its key plus its 30-second bucket, so the
  pipeline's per-site event_id uniqueness (spooled ids included) catches a repeat in the same
  bucket, and `repeated_recently` looks up the previous bucket's id and its time (in SQL, or in
  ClickHouse; a ClickHouse that cannot be reached answers "not stored", as prepare's duplicate
  lookup does, so tracking keeps answering from the spool while it is down).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from analytics_mcp.experiments.events import DEDUP_WINDOW_MS, EventIds, stored_event_time
from analytics_mcp.ingest.event import ACCEPTED, DUPLICATE, Outcome, PendingEvent
from analytics_mcp.ingest.group_commit import Ingestor
from analytics_mcp.storage.clickhouse import ClickHouseEvents, EventsDatabase

log = logging.getLogger("analytics_mcp.ingest")

RECENT_LIMIT = 100_000
Key = tuple[int, str]  # (site id, window-free event key)


@dataclass(frozen=True, slots=True)
class _Taken:
    ts: int  # ms, the event's own time
    stored: asyncio.Future[bool]  # True once it is stored (or was already); False: it was not


class RecentEvents:
    """The events this process took less than a window ago, by key (bounded; oldest go first)."""

    def __init__(self, window_ms: int = DEDUP_WINDOW_MS, limit: int = RECENT_LIMIT) -> None:
        self.window_ms = window_ms
        self.limit = limit
        self._taken: OrderedDict[Key, _Taken] = OrderedDict()

    async def once(self, key: Key, ts: int, store: Callable[[], Awaitable[Outcome]]) -> Outcome:
        """`store()`'s outcome, or DUPLICATE if the same key was stored less than a window before."""
        while (earlier := self._taken.get(key)) is not None and abs(ts - earlier.ts) < self.window_ms:
            if await asyncio.shield(earlier.stored):
                return Outcome(DUPLICATE)
            # The earlier one was not stored and has been forgotten: this one decides for itself.
        mine = _Taken(ts, asyncio.get_running_loop().create_future())
        self._remember(key, mine)
        try:
            outcome = await store()
        except BaseException:
            self._settle(key, mine, None)
            raise
        self._settle(key, mine, outcome)
        return outcome

    def _remember(self, key: Key, taken: _Taken) -> None:
        self._taken[key] = taken
        self._taken.move_to_end(key)
        while len(self._taken) > self.limit or self._expired(next(iter(self._taken.values())), taken.ts):
            self._taken.popitem(last=False)

    def _expired(self, oldest: _Taken, now: int) -> bool:
        return oldest.stored.done() and now - oldest.ts >= self.window_ms

    def _settle(self, key: Key, taken: _Taken, outcome: Outcome | None) -> None:
        """Only an event stored now stays remembered: a duplicate's stored twin is older than `ts`."""
        if (outcome is None or not outcome.accepted) and self._taken.get(key) is taken:
            del self._taken[key]
        taken.stored.set_result(outcome is not None and outcome.status in (ACCEPTED, DUPLICATE))


class TrackDedup:
    """Submits A/B events through the pipeline, each once per sliding window (see the module)."""

    def __init__(self, db: EventsDatabase, ingestor: Ingestor, recent: RecentEvents | None = None) -> None:
        self.db = db
        self.ingestor = ingestor
        self.recent = recent or RecentEvents()

    async def submit(self, site_id: int, ids: EventIds, event: PendingEvent) -> Outcome:
        """The event's outcome; raises IngestUnavailable like `Ingestor.submit`."""

        async def store() -> Outcome:
            if await self.repeated_recently(site_id, ids, event.ts):
                return Outcome(DUPLICATE)
            [outcome] = await self.ingestor.submit([event])
            return outcome

        return await self.recent.once((site_id, ids.key), event.ts, store)

    async def repeated_recently(self, site_id: int, ids: EventIds, now_ms: int) -> bool:
        """Whether the previous window already holds this event less than the window ago."""
        if ids.previous is None:
            return False
        stored = await self._stored_time(site_id, ids.previous)
        return stored is not None and now_ms - stored < DEDUP_WINDOW_MS

    async def _stored_time(self, site_id: int, client_event_id: str) -> int | None:
        if not isinstance(self.db, ClickHouseEvents):
            async with self.db.aio.connect() as conn:
                return await conn.run_sync(lambda sync: stored_event_time(sync, site_id, client_event_id))
        from clickhouse_connect.driver.exceptions import OperationalError

        from analytics_mcp.ingest.clickhouse.reads import stored_event_time as stored_in_clickhouse

        try:
            return await asyncio.to_thread(stored_in_clickhouse, self.db, site_id, client_event_id)
        except OperationalError:
            log.warning("ClickHouse unreachable: the A/B duplicate lookup answers 'not stored'")
            return None
