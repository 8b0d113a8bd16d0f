"""Per-token rate limit for /api/v1 and MCP tool calls (moving window, `limits` library, async
storage), and the shared counter storage the sign-in throttle uses too. It sits in the storage
layer because several edges count against the same buckets (REST, MCP, dashboard).

Two kinds of bucket in one storage: an API token's (`hit`, `Settings.rate_limit`, 60/minute by
default) and a dashboard session's (`hit_session`, `Settings.dashboard_rate_limit`, 600/minute by
default, keyed by the hash of the session, in a namespace of its own). A page of the dashboard
makes about ten requests per view, so clicking through periods must not spend an API token's
budget, nor share one with the scripts that use the tenant's tokens.

The storage comes from a URL (`memory://` by default; `redis://host:6379` once several servers
share the limit), so moving to Redis is configuration, not code. One limiter per app instance:
the in-memory storage holds asyncio locks bound to the loop that serves the app.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.applications import Starlette

from analytics_mcp.config import Settings

log = logging.getLogger("analytics_mcp.http")

DEFAULT_STORAGE = "memory://"
NAMESPACE = "api-v1"
SESSION_NAMESPACE = "dashboard-session"
DEFAULT_SESSION_LIMIT = "600/minute"


@dataclass(frozen=True, slots=True)
class RateLimitState:
    allowed: bool
    limit: int
    remaining: int
    reset_time: float  # epoch seconds when the oldest counted request leaves the window

    @property
    def reset(self) -> int:
        return math.ceil(self.reset_time)

    def retry_after(self, now: float | None = None) -> int:
        return max(1, math.ceil(self.reset_time - (time.time() if now is None else now)))

    def headers(self) -> dict[str, str]:
        out = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after())
        return out


def shared_storage(url: str) -> Any:
    """The `limits` async storage for a settings URL (`memory://`, `redis://host:port/db`): the
    API limit and the sign-in throttle share it, and so do several servers through Redis."""
    # `limits` names its asyncio storages "async+<scheme>"; accept the plain form in settings.
    async_url = url if url.startswith("async+") else f"async+{url}"
    if "redis" in async_url.split("://", 1)[0]:  # redis-py's asyncio client, our dependency
        return storage_from_string(async_url, implementation="redispy")
    return storage_from_string(async_url)


class RateLimiter:
    def __init__(
        self, limit: str, storage_url: str = DEFAULT_STORAGE, session_limit: str = DEFAULT_SESSION_LIMIT
    ) -> None:
        self.item = parse(limit)
        self.session_item = parse(session_limit)
        self.strategy = MovingWindowRateLimiter(shared_storage(storage_url))

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        return cls(settings.rate_limit, settings.rate_limit_storage, settings.dashboard_rate_limit)

    async def hit(self, key: str) -> RateLimitState | None:
        """Count one request of the API token `key`; None if the storage failed (we then fail open)."""
        return await self._hit(self.item, NAMESPACE, key)

    async def hit_session(self, key: str) -> RateLimitState | None:
        """Count one request of the dashboard session `key` (its hash, never the cookie itself)."""
        return await self._hit(self.session_item, SESSION_NAMESPACE, key)

    async def _hit(self, item: RateLimitItem, namespace: str, key: str) -> RateLimitState | None:
        try:
            allowed = await self.strategy.hit(item, namespace, key)
            stats = await self.strategy.get_window_stats(item, namespace, key)
        except Exception:
            # A broken limiter store must not take the whole API down with it.
            log.exception("rate limit storage failed; request allowed")
            return None
        return RateLimitState(allowed, item.amount, max(0, stats.remaining), stats.reset_time)


def limiter_for(app: Starlette) -> RateLimiter:
    """The app's limiter, built on first use from the app's settings."""
    limiter: RateLimiter | None = getattr(app.state, "rate_limiter", None)
    if limiter is None:
        limiter = RateLimiter.from_settings(app.state.services.settings)
        app.state.rate_limiter = limiter
    return limiter
