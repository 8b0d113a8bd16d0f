"""The Messages API clients of one app, kept for its life.

A client per chat built a TLS context (~22 ms of CPU) and opened a new connection to the API for
every question; one client per (retries, timeout) reuses its connection pool across chats. A
client's connections belong to the event loop that opened them, so clients are kept per loop too
(one in a served app; tests may run an app under several). Closed at the app's shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import httpx2

from analytics_mcp.chat.models import Limits
from analytics_mcp.config import Settings

if TYPE_CHECKING:
    import anthropic

# The loop itself, not its id: a kept loop cannot be freed and its id given to a new one.
_Key = tuple[asyncio.AbstractEventLoop, int, float]


class ModelClients:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._clients: dict[_Key, anthropic.AsyncAnthropic] = {}

    def get(self, limits: Limits) -> anthropic.AsyncAnthropic:
        """The client for these limits on the running loop (built on first use)."""
        key = (asyncio.get_running_loop(), limits.max_retries, limits.call_timeout_s)
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = self._build(limits)
        return client

    def _build(self, limits: Limits) -> anthropic.AsyncAnthropic:
        import anthropic  # when a chat first runs (chat/loop.py: upstream_errors)

        return anthropic.AsyncAnthropic(
            api_key=self._settings.anthropic_api_key,
            base_url=self._settings.anthropic_base_url or None,
            max_retries=limits.max_retries,
            timeout=httpx2.Timeout(limits.call_timeout_s, connect=10.0),
        )

    async def aclose(self) -> None:
        """Close every client (one of a loop that has ended may fail to: its sockets are gone)."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            with contextlib.suppress(RuntimeError):
                await client.close()
