"""`POST /api/v1/metrics/track` dedup is a sliding window, not clock buckets: an immediate retry
that straddles xx:xx:30.000 or xx:xx:00.000 UTC is one event, also while the first one waits in
the spool (writer stalled) and when both arrive at once. The endpoint's clock is pinned a
millisecond before and after a bucket boundary (the boundary is taken near now only because the
pipeline refuses times far from it)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
from starlette.applications import Starlette

from ab_support import body, experiment, stored, track
from analytics_mcp.config import Settings
from analytics_mcp.experiments.dedup import RecentEvents
from analytics_mcp.http_api import metrics_track
from analytics_mcp.ingest.event import ACCEPTED, DUPLICATE, Outcome
from analytics_mcp.services import Services
from factories import make_site

MINUTE = (int(time.time()) // 60 - 3) * 60  # a whole minute, 3 to 4 minutes ago
STRADDLES = [(MINUTE + 29.999, MINUTE + 30.001), (MINUTE + 59.999, MINUTE + 60.001)]


class Clock:
    """The endpoint's clock: hands out the pinned times in order, then keeps the last one."""

    def __init__(self) -> None:
        self.times: list[float] = [MINUTE]

    def __call__(self) -> float:
        return self.times.pop(0) if len(self.times) > 1 else self.times[0]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    pinned = Clock()
    monkeypatch.setattr(metrics_track, "CLOCK", pinned)
    return pinned


def client_for(app: Starlette) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://testserver")


async def send(client: httpx2.AsyncClient, payload: dict[str, object]) -> None:
    response = await track(client, payload)
    assert response.status_code == 201, response.text


@contextmanager
def stalled_writer(services: Services) -> Iterator[None]:
    """The writer process stopped: events are acknowledged from the spool and not stored yet."""
    spooler = services.ingestor._spooler
    assert spooler is not None, "the writer process did not start"
    pid = spooler._child._process.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


async def drained(services: Services) -> None:
    spooler = services.ingestor._spooler
    assert spooler is not None
    deadline = time.monotonic() + 60
    while spooler.backlog and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert spooler.backlog == 0, "the writer did not catch up"


class TestWithTheWriterProcess:
    @pytest.fixture
    def settings(self, tmp_path: Path) -> Settings:
        """The default for a database file: events are spooled, a child process stores them."""
        return Settings(data_dir=tmp_path / "data", secret_key="t", ingest_process=True, _env_file=None)  # type: ignore[call-arg]

    async def test_a_retry_across_a_boundary_while_the_first_is_spooled_is_one_event(
        self, app: Starlette, clock: Clock
    ) -> None:
        services: Services = app.state.services
        make_site(services)
        variant = experiment(services).variants[0].id
        with stalled_writer(services):
            async with client_for(app) as client:
                for n, (before, after) in enumerate(STRADDLES):
                    clock.times = [before, after]
                    click = body(variant, "click", {"element_id": f"cta-{n}"})
                    await send(client, click)
                    await send(client, click)  # the retry, 2 ms later, in the next bucket
        await drained(services)
        assert stored(services) == (2, 2)


@pytest.mark.parametrize(("before", "after"), STRADDLES, ids=["at-30s", "at-the-minute"])
async def test_duplicates_at_once_across_a_boundary_are_one_event(
    app: Starlette, clock: Clock, before: float, after: float
) -> None:
    services: Services = app.state.services
    make_site(services)
    view = body(experiment(services).variants[1].id, "page_view", {"path": "/pricing"})
    clock.times = [before, after, before, after]
    async with client_for(app) as client:
        responses = await asyncio.gather(*(track(client, view) for _ in range(4)))
    assert [r.status_code for r in responses] == [201] * 4
    assert stored(services) == (1, 1)


async def test_the_window_slides_from_the_last_stored_occurrence(app: Starlette, clock: Clock) -> None:
    services: Services = app.state.services
    make_site(services)
    click = body(experiment(services).variants[0].id, "click", {"element_id": "hero-cta"})
    start = MINUTE + 29.999
    async with client_for(app) as client:
        # stored; 1 ms, 29.9 s later: duplicates; 30 s after the stored one: a new click; 2 ms on: its retry
        for offset, total in [(0, 1), (0.002, 1), (29.9, 1), (30.0, 2), (30.002, 2)]:
            clock.times = [start + offset]
            await send(client, click)
            assert stored(services)[0] == total, offset


async def test_a_duplicate_of_a_failed_event_is_stored_on_its_own() -> None:
    recent, first_started, calls = RecentEvents(), asyncio.Event(), []
    release = asyncio.Event()

    async def failing() -> Outcome:
        calls.append("first")
        first_started.set()
        await release.wait()
        raise RuntimeError("storage failed")

    async def storing() -> Outcome:
        calls.append("retry")
        return Outcome(ACCEPTED)

    first = asyncio.create_task(recent.once((1, "k"), 1_000, failing))
    await first_started.wait()
    retry = asyncio.create_task(recent.once((1, "k"), 1_002, storing))  # waits for the first
    await asyncio.sleep(0)
    assert calls == ["first"]
    release.set()
    with pytest.raises(RuntimeError):
        await first
    assert (await retry).status == ACCEPTED  # not a 201 for an event that was never stored
    assert calls == ["first", "retry"]
    assert (await recent.once((1, "k"), 1_004, storing)).status == DUPLICATE


async def test_recent_events_stay_bounded() -> None:
    recent = RecentEvents(window_ms=30_000, limit=3)

    async def accepted() -> Outcome:
        return Outcome(ACCEPTED)

    for n in range(5):
        await recent.once((1, f"k{n}"), n, accepted)
    assert len(recent._taken) == 3
    await recent.once((1, "late"), 40_000, accepted)  # the others are older than the window
    assert list(recent._taken) == [(1, "late")]
