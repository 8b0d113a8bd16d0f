"""kill -9 of the server and its writer process, again and again, under load: every event that
got a 202 is stored exactly once, whatever the moment of the crash.

Each cycle starts a real `analytics-mcp serve`, then either kills it while batch and tracker
requests are in flight, or stalls its writer (SIGSTOP) so everything acknowledged sits only in
the spool, and kills it then. Every restart begins with retries of acknowledged events mixed
with new ones while the spool is still being replayed: the retries must answer "duplicate".
A final start drains the spool; the database is then compared with the ledger of replies.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import func, select

from analytics_mcp.storage.db import open_database
from analytics_mcp.storage.schema import events
from factories import CHROME_WIN, FIREFOX_LINUX
from reliability.scale import scale
from server_process import Install, crash, server_process, writer_child

pytestmark = pytest.mark.reliability
ARTIFACTS = Path(__file__).parent.parent / "artifacts"


@dataclass
class Ledger:
    """What the clients were told: acknowledged ids, and ids whose reply never came."""

    acked: set[str] = field(default_factory=set)
    unanswered: set[str] = field(default_factory=set)
    refused_503: int = 0
    retries_checked: int = 0
    next_id: int = 0

    def new_ids(self, count: int, prefix: str = "b") -> list[str]:
        ids = [f"{prefix}{self.next_id + i}" for i in range(count)]
        self.next_id += count
        return ids


def batch_event(event_id: str, when: datetime) -> dict[str, Any]:
    number = int(event_id[1:])
    return {
        "name": "pageview" if number % 5 else "Signup",
        "url": f"https://acme.test/p{number % 13}",
        "domain": "acme.test",
        "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "ip": f"198.51.{number % 200}.{number % 7}",
        "user_agent": CHROME_WIN if number % 2 else FIREFOX_LINUX,
        "event_id": event_id,
    }


CRASHED = object()  # no reply: the server died with the request in flight


class Load:
    def __init__(self, base: str, token: str, ledger: Ledger, now: datetime) -> None:
        self.base, self.ledger, self.now = base, ledger, now
        self.auth = {"Authorization": f"Bearer {token}"}

    async def batch(self, http: httpx2.AsyncClient, ids: list[str]) -> dict[str, Any] | object | None:
        """The reply's counts; None when refused with 503; CRASHED when no reply came."""
        body = [batch_event(i, self.now - timedelta(seconds=int(i[1:]) % 3000)) for i in ids]
        try:
            reply = await http.post(f"{self.base}/api/v1/events", json=body, headers=self.auth)
        except httpx2.TransportError:
            self.ledger.unanswered.update(ids)
            return CRASHED
        if reply.status_code == 503:
            self.ledger.refused_503 += 1
            return None
        assert reply.status_code == 202, reply.text
        data: dict[str, Any] = reply.json()["data"]
        assert data["rejected"] == data["dropped"] == 0, data
        self.ledger.acked.update(ids)
        return data

    async def tracker(self, http: httpx2.AsyncClient, event_id: str) -> object | None:
        number = int(event_id[1:])
        body = {"name": "pageview", "url": f"https://acme.test/t{number % 9}", "domain": "acme.test"}
        headers = {"User-Agent": CHROME_WIN, "X-Forwarded-For": f"203.0.113.{number % 250}"}
        try:
            reply = await http.post(
                f"{self.base}/api/event", json={**body, "event_id": event_id}, headers=headers
            )
        except httpx2.TransportError:
            self.ledger.unanswered.add(event_id)
            return CRASHED
        if reply.status_code == 202:
            self.ledger.acked.add(event_id)
        else:
            assert reply.status_code == 503, reply.text
        return None

    async def until_cancelled(self, batch_size: int) -> None:
        """Batches from four clients and single tracker events from sixteen, until cancelled."""
        async with httpx2.AsyncClient(timeout=30) as http:

            async def batches() -> None:
                while await self.batch(http, self.ledger.new_ids(batch_size)) is not CRASHED:
                    pass

            async def trackers() -> None:
                while await self.tracker(http, self.ledger.new_ids(1, "t")[0]) is not CRASHED:
                    pass

            await asyncio.gather(*(batches() for _ in range(4)), *(trackers() for _ in range(16)))

    async def retries_with_new(self, retried: list[str], batch_size: int) -> None:
        """Acknowledged ids again, half of each batch, the other half new: exact duplicates."""
        async with httpx2.AsyncClient(timeout=60) as http:
            half = batch_size // 2
            for start in range(0, len(retried), half):
                old = retried[start : start + half]
                data = await self.batch(http, old + self.ledger.new_ids(len(old)))
                assert isinstance(data, dict), "a restarted server refused events"
                assert (data["duplicate"], data["accepted"]) == (len(old), len(old)), data
                self.ledger.retries_checked += len(old)


def stored_ids(db_url: str) -> Counter[str]:
    db = open_database(db_url)
    with db.sync.connect() as conn:
        rows = conn.execute(
            select(events.c.client_event_id, func.count()).group_by(events.c.client_event_id)
        ).all()
    db.sync.dispose()
    return Counter({event_id: n for event_id, n in rows})


def killed_under_load(install: Install, load: Load, batch_size: int, seconds: float) -> None:
    with server_process(install.env) as (proc, base):
        load.base = base

        async def run() -> None:
            task = asyncio.create_task(load.until_cancelled(batch_size))
            await asyncio.sleep(seconds)
            crash(proc)
            await asyncio.sleep(0.2)  # let in-flight requests see the reset
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

        asyncio.run(run())


def killed_with_stalled_writer(install: Install, load: Load, batches: int, batch_size: int) -> None:
    with server_process(install.env) as (proc, base):
        load.base = base
        os.kill(writer_child(proc.pid), signal.SIGSTOP)  # acknowledged only from the spool

        async def run() -> None:
            async with httpx2.AsyncClient(timeout=60) as http:
                for _ in range(batches):
                    assert isinstance(await load.batch(http, load.ledger.new_ids(batch_size)), dict)

        try:
            asyncio.run(run())
        finally:  # also when a request failed: a graceful stop would wait for the stopped writer
            crash(proc)


def restarted_with_retries(
    install: Install, load: Load, retries: int, batch_size: int, rng: random.Random
) -> None:
    """A restart whose first requests are retries of acknowledged events, during replay."""
    acked = sorted(load.ledger.acked)
    sample = rng.sample(acked, min(retries, len(acked)))
    with server_process(install.env) as (_proc, base):
        load.base = base
        asyncio.run(load.retries_with_new([i for i in sample if i.startswith("b")], batch_size))


def test_every_acknowledged_event_is_stored_once_through_kill_9_cycles(tmp_path: Path) -> None:
    install = Install.create(tmp_path)
    *_, token = install.cli_each(
        ("tenants", "create", "acme"),
        ("sites", "add", "acme.test", "--tenant", "acme"),
        ("tokens", "create", "--tenant", "acme", "--scopes", "ingest"),
    )
    token = token.strip()
    rng = random.Random(12)
    ledger = Ledger()
    load = Load("", token, ledger, datetime.now(UTC) - timedelta(hours=1))
    cycles = scale(fast=2, full=8)
    big = scale(fast=2_000, full=10_000)  # events a batch in the stalled-writer cycles
    started = time.monotonic()
    for cycle in range(cycles):
        if cycle % 2 == 0:
            killed_with_stalled_writer(install, load, batches=scale(fast=2, full=10), batch_size=big)
        else:
            killed_under_load(install, load, batch_size=500, seconds=rng.uniform(0.5, scale(fast=1, full=4)))
        restarted_with_retries(
            install, load, retries=scale(fast=2_000, full=100_000), batch_size=big, rng=rng
        )
    with server_process(install.env):
        pass  # a graceful start and stop: the writer stores the whole spool before exiting
    stored = stored_ids(install.db_url)
    lost = ledger.acked - stored.keys()
    duplicated = {i for i, n in stored.items() if n > 1}
    unexplained = stored.keys() - ledger.acked - ledger.unanswered
    report = {
        "cycles": cycles,
        "acknowledged": len(ledger.acked),
        "stored": sum(stored.values()),
        "lost": len(lost),
        "duplicated": len(duplicated),
        "retries_answered_duplicate": ledger.retries_checked,
        "unanswered_requests_events": len(ledger.unanswered),
        "unanswered_but_stored": len(ledger.unanswered & stored.keys()),
        "refused_503_requests": ledger.refused_503,
        "failed_frames": len(list(install.spool.glob("failed/*"))),
        "seconds": round(time.monotonic() - started, 1),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "reliability-crash-cycles.json").write_text(json.dumps(report, indent=2))
    print(f"\ncrash cycles: {report}")
    assert not lost, f"{len(lost)} acknowledged events lost, e.g. {sorted(lost)[:5]}"
    assert not duplicated and not unexplained and report["failed_frames"] == 0, report
    assert ledger.retries_checked > 0 and len(ledger.acked) > cycles * 1000
