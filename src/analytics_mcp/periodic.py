"""A background round inside the app's lifespan (the segment computation and the weekly email
reports): run `round_` every `every` seconds after `first`, log a failed round and go on, cancel
with the lifespan. One loop for every schedule, so each only says what a round does."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable


async def _rounds(round_: Callable[[], Awaitable[object]], every: float, first: float, what: str) -> None:
    log = logging.getLogger(f"analytics_mcp.{what.split()[0]}")
    await asyncio.sleep(first)
    while True:
        try:
            await round_()
        except Exception:
            log.exception("%s round failed; next round in %.0f s", what, every)
        await asyncio.sleep(every)


@contextlib.asynccontextmanager
async def periodic(
    round_: Callable[[], Awaitable[object]], *, every: float, first: float = 0.0, what: str
) -> AsyncIterator[None]:
    task = asyncio.create_task(_rounds(round_, every, first, what))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
