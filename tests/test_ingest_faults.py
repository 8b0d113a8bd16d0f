"""Ingestion when something breaks, seen from outside (replies, files on disk, rows in the
database): a spooled frame the database refuses three times is set aside in `<spool>/failed/` and
the events after it are still stored; a writer process that cannot start leaves the server
ingesting through the writer thread."""

from __future__ import annotations

import asyncio
import errno
import logging
import multiprocessing
import multiprocessing.context
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import func, select, text

from analytics_mcp.config import Settings
from analytics_mcp.services import Services
from analytics_mcp.storage.schema import events
from conftest import serving
from factories import CHROME_WIN, make_site

# The database refuses this one row, as it would a row breaking a constraint.
REFUSE_POISON = text(
    "CREATE TRIGGER refuse_poison BEFORE INSERT ON events WHEN NEW.pathname = '/poison' "
    "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
)


def process_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", secret_key="t", ingest_process=True, _env_file=None)  # type: ignore[call-arg]


def stored_paths(services: Services) -> list[str]:
    with services.db.sync.connect() as conn:
        return sorted(conn.execute(select(events.c.pathname)).scalars())


async def send(client: httpx2.AsyncClient, path: str, event_id: str) -> None:
    body = {
        "name": "pageview",
        "url": f"https://acme.test{path}",
        "domain": "acme.test",
        "event_id": event_id,
    }
    reply = await client.post("/api/event", json=body, headers={"User-Agent": CHROME_WIN})
    assert reply.status_code == 202 and reply.json()["status"] == "accepted", reply.text


async def eventually(probe: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
    return found


async def test_a_frame_the_database_refuses_is_set_aside_and_the_rest_is_stored(tmp_path: Path) -> None:
    settings = process_settings(tmp_path)
    async with serving(settings) as (base, app):
        services: Services = app.state.services
        make_site(services)
        with services.db.sync.begin() as conn:
            conn.execute(REFUSE_POISON)
        async with httpx2.AsyncClient(base_url=base, timeout=30) as client:
            # One request at a time: each is its own group-commit batch, so its own spool frame.
            for n in range(3):
                await send(client, f"/before-{n}", f"before-{n}")
            await send(client, "/poison", "poison")  # acknowledged: it is in the spool
            for n in range(3):
                await send(client, f"/after-{n}", f"after-{n}")
            failed = await eventually(
                lambda: sorted(settings.data_dir.glob("*-spool/failed/*")), "a frame in failed/"
            )
            expected = [*(f"/after-{n}" for n in range(3)), *(f"/before-{n}" for n in range(3))]
            await eventually(lambda: stored_paths(services) == expected, "the other events stored")

            await send(client, "/later", "later")  # ingestion goes on after the quarantine
            await eventually(lambda: "/later" in stored_paths(services), "a later event stored")
            assert (await client.get("/api/health")).status_code == 200
    [frame] = failed
    kept = frame.read_bytes()
    assert b"/poison" in kept and b"/before-" not in kept and b"/after-" not in kept  # only that frame
    assert b"127.0.0.1" not in kept and CHROME_WIN.encode() not in kept  # no IP or User-Agent there either
    assert stored_paths(services) == sorted([*expected, "/later"])  # stopping stored nothing more


def refuse_to_spawn(_process: object) -> None:
    raise OSError(errno.EAGAIN, "Resource temporarily unavailable")


def dies_at_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A writer process that exits before it is ready (a new interpreter runs sitecustomize)."""
    (tmp_path / "crash").mkdir()
    (tmp_path / "crash" / "sitecustomize.py").write_text("import os\nos._exit(3)\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "crash"))


def cannot_fork(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The OS refuses a new process."""
    monkeypatch.setattr(multiprocessing.context.SpawnProcess, "start", refuse_to_spawn)


@pytest.mark.parametrize("breakage", [dies_at_start, cannot_fork], ids=["dies-at-start", "cannot-fork"])
async def test_without_a_writer_process_events_are_written_by_the_thread(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    breakage: Callable[[pytest.MonkeyPatch, Path], None],
) -> None:
    breakage(monkeypatch, tmp_path)
    caplog.set_level(logging.WARNING, logger="analytics_mcp.ingest")
    async with serving(process_settings(tmp_path)) as (base, app):
        services: Services = app.state.services
        make_site(services)
        async with httpx2.AsyncClient(base_url=base, timeout=30) as client:
            assert (await client.get("/api/health")).status_code == 200
            for n in range(5):
                await send(client, f"/p{n}", f"e{n}")
            # The thread commits before it answers: every 202 is readable at once.
            assert stored_paths(services) == [f"/p{n}" for n in range(5)]
        assert multiprocessing.active_children() == []
        with services.db.sync.connect() as conn:
            assert conn.execute(select(func.count()).select_from(events)).scalar_one() == 5
    assert any(record.levelno == logging.WARNING for record in caplog.records)  # the operator is told
