"""The events quota of a tenant's subscription: events past 110% of the billing period's limit
are dropped at ingestion with the reason `quota` (answered like a bot: 202 with `dropped`, never
silently stored or silently lost).

What counts: events whose own time is in the current billing period (UTC days, storage/
subscriptions.py), engagement reports excepted (storage/event_counts.py), the same number the
usage endpoint shows. A tenant without a subscription, or with -1, has no quota.

The stored count is read when a tenant's first event of a period arrives and again every
REFRESH_S seconds; the events admitted in between are counted here, so events waiting in the
spool count at once. With several servers each adds its own admissions to the stored count read at
most REFRESH_S ago: the overshoot is bounded by that much traffic. If the count cannot be read
(ClickHouse down), events are admitted and the count is tried again RETRY_S later: a quota never
makes ingestion fail.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, select

from analytics_mcp.definitions import ENGAGEMENT
from analytics_mcp.ingest.event import Outcome, PreparedEvent, dropped
from analytics_mcp.storage.clickhouse import ClickHouseEvents
from analytics_mcp.storage.event_counts import count_clickhouse, count_sql
from analytics_mcp.storage.schema import sites
from analytics_mcp.storage.subscriptions import day_start_ms, get_subscription

REFRESH_S = 60.0
RETRY_S = 5.0  # after a failed count
log = logging.getLogger("analytics_mcp.ingest")
QUOTA_REASON = "quota"
OVERAGE_PERCENT = 110
EventCounter = Callable[[Connection, Sequence[int], int, int], int]


def quota_cap(limit: int) -> int | None:
    """How many events a period may store: 110% of the limit, rounded down; None: unlimited."""
    return None if limit < 0 else limit * OVERAGE_PERCENT // 100


def clickhouse_counter(store: ClickHouseEvents) -> EventCounter:
    """The stored count read from ClickHouse (the events are there, not on the connection)."""

    def count(_conn: Connection, site_ids: Sequence[int], start_ms: int, end_ms: int) -> int:
        return count_clickhouse(store, site_ids, start_ms, end_ms)

    return count


@dataclass(slots=True)
class _Allowance:
    read_at: float  # monotonic
    cap: int | None
    end_ms: int  # the period's end (exclusive): a new period reads again
    counted: int


class QuotaGate:
    """tenant -> what its current period still admits, kept between batches."""

    def __init__(self, accounts: Engine | None = None, refresh_s: float = REFRESH_S) -> None:
        """`accounts`: where subscriptions and sites live when the events are elsewhere."""
        self._accounts = accounts
        self._refresh_s = refresh_s
        self._tenants: dict[int, _Allowance] = {}
        self.count_events: EventCounter = count_sql  # ClickHouse: counts there (group_commit)
        self.clock: Callable[[], float] = time.time

    def filter(
        self, conn: Connection, live: list[PreparedEvent], outcomes: list[Outcome | None]
    ) -> list[PreparedEvent]:
        """The events within their tenant's quota, in order; the others get `dropped: quota`.
        Each tenant's allowance is read once a batch (per event it was a fifth of prepare)."""
        room: dict[int, int | None] = {}  # tenant -> events it still admits (None: no cap)
        kept: list[PreparedEvent] = []
        for item in live:
            tenant = item.site.tenant_id
            left = room[tenant] if tenant in room else self._room(conn, tenant)
            if left is None or item.event.name == ENGAGEMENT:
                kept.append(item)
            elif left > 0:
                kept.append(item)
                left -= 1
            else:
                outcomes[item.index] = dropped(QUOTA_REASON)
            room[tenant] = left
        self._took(room)
        return kept

    def admit(self, conn: Connection, counts: dict[int, int]) -> bool:
        """Whether each tenant (in the order given) has room for its count of counted events
        (engagement reports not counted, as in `filter`): if all have, they are taken as `filter`
        takes them; else nothing is (the caller filters the batch event by event instead)."""
        room = {tenant: self._room(conn, tenant) for tenant in counts}
        if any(left is not None and counts[tenant] > left for tenant, left in room.items()):
            return False
        self._took({tenant: None if left is None else left - counts[tenant] for tenant, left in room.items()})
        return True

    def _took(self, room: dict[int, int | None]) -> None:
        """What a batch took (each tenant's room left after it) counts for the next one."""
        for tenant, left in room.items():
            allowance = self._tenants[tenant]
            if allowance.cap is not None and left is not None:
                allowance.counted = max(allowance.counted, allowance.cap - left)

    def _room(self, conn: Connection, tenant_id: int) -> int | None:
        allowance = self._allowance(conn, tenant_id)
        return None if allowance.cap is None else max(allowance.cap - allowance.counted, 0)

    def _allowance(self, conn: Connection, tenant_id: int) -> _Allowance:
        now_ms = int(self.clock() * 1000)
        cached = self._tenants.get(tenant_id)
        if cached is None or now_ms >= cached.end_ms or time.monotonic() - cached.read_at > self._refresh_s:
            if self._accounts is None:
                cached = self._read(conn, conn, tenant_id, now_ms)
            else:
                with self._accounts.connect() as accounts_conn:
                    cached = self._read(accounts_conn, conn, tenant_id, now_ms)
            self._tenants[tenant_id] = cached
        return cached

    def _read(self, accounts: Connection, events: Connection, tenant_id: int, now_ms: int) -> _Allowance:
        today = datetime.fromtimestamp(now_ms / 1000, UTC).date()
        sub = get_subscription(accounts, tenant_id)
        if sub is None or quota_cap(sub.limits["events"]) is None:
            return _Allowance(time.monotonic(), None, day_start_ms(today + timedelta(days=1)), 0)
        start, end = sub.period_on(today)
        start_ms, end_ms = day_start_ms(start), day_start_ms(end + timedelta(days=1))
        site_ids = list(accounts.execute(select(sites.c.id).where(sites.c.tenant_id == tenant_id)).scalars())
        try:
            counted = self.count_events(events, site_ids, start_ms, end_ms)
        except Exception:  # the events store is unreachable: admit (the writer keeps trying)
            log.warning("events quota: count failed for tenant %s; admitted, read again soon", tenant_id)
            return _Allowance(time.monotonic() - self._refresh_s + RETRY_S, None, end_ms, 0)
        return _Allowance(time.monotonic(), quota_cap(sub.limits["events"]), end_ms, counted)

    def forget(self) -> None:
        self._tenants.clear()
