"""Shared fixtures: a fresh settings/database per test, the real app with its lifespan held in one
task (pytest-asyncio runs fixture setup and teardown in different tasks), an in-process ASGI client,
and a real uvicorn on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
import pytest
import uvicorn
from starlette.applications import Starlette

from analytics_mcp.app import create_app
from analytics_mcp.config import Settings
from analytics_mcp.services import Services


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # In-thread writer: a child process per test app would cost a second each (tested on its own).
    return Settings(
        data_dir=tmp_path / "data", secret_key="test-secret", ingest_process=False, _env_file=None
    )  # type: ignore[call-arg]


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    """Migrated database and services, not started (no writer task); for sync/CLI-level tests."""
    svc = Services.build(settings)
    yield svc
    svc.db.sync.dispose()
    asyncio.run(svc.db.aio.dispose())


async def hold_lifespan(app: Starlette) -> tuple[asyncio.Event, asyncio.Task[None]]:
    started, stop = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with app.router.lifespan_context(app):
            started.set()
            await stop.wait()

    task = asyncio.create_task(hold())
    while not started.is_set():
        if task.done():
            task.result()
        await asyncio.sleep(0.005)
    return stop, task


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    stop, task = await hold_lifespan(application)
    yield application
    stop.set()
    await task


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[str, Starlette]]:
    """A real uvicorn serving a fresh app for these settings on 127.0.0.1: (base_url, app)."""
    application = create_app(settings)
    port = free_port()
    config = uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}", application
    server.should_exit = True
    await task


@pytest.fixture
async def live_server(settings: Settings) -> AsyncIterator[tuple[str, Starlette]]:
    """A real uvicorn serving a fresh app on 127.0.0.1; yields (base_url, app)."""
    async with serving(settings) as served:
        yield served
