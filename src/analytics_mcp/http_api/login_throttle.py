"""Sign-in throttling per (email, client IP) and per client IP (moving window, `limits`), for
every door that checks a password: the dashboard sign-in form and POST /api/auth/token.

Every attempt is reserved before its password is checked: `reserve` hits both windows, and an
attempt over either limit is refused without touching argon2. A moving-window hit is one atomic
step in every `limits` storage (a lock in memory, a Lua script in Redis), so concurrent attempts
cannot all pass a check before any of them is counted: at most the limit reach the password check.

Why these two keys and not the email alone: a per-email lock lets anyone lock a known user out by
guessing wrong. Per (email, IP) stops guessing one account from one address without locking its
owner out elsewhere; per IP stops one address spraying many accounts.

A successful sign-in clears its (email, IP) window: the owner need not wait because of their own
typos. It stays counted in the IP window, so signing in to an account of one's own cannot buy an
address more guesses at other accounts. The storage URL is the API limiter's, so several servers
share counts through Redis; if the storage fails, the attempt is allowed (and logged), as on /api/v1.
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter

from analytics_mcp.storage.ratelimit import shared_storage

log = logging.getLogger("analytics_mcp.http")

PAIR_LIMIT = "5 per 15 minutes"  # one email from one address
IP_LIMIT = "20 per 15 minutes"  # any emails from one address
NAMESPACE = "dashboard-login"
MAX_EMAIL = 320


class LoginThrottle:
    def __init__(
        self,
        storage_url: str = "memory://",
        pair_limit: str = PAIR_LIMIT,
        ip_limit: str = IP_LIMIT,
    ) -> None:
        self.strategy = MovingWindowRateLimiter(shared_storage(storage_url))
        self.pair_item: RateLimitItem = parse(pair_limit)
        self.ip_item: RateLimitItem = parse(ip_limit)

    def _pair_key(self, email: str, ip: str) -> str:
        return f"pair:{ip}|{email.strip().lower()[:MAX_EMAIL]}"  # "|" never occurs in an IP

    async def reserve(self, email: str, ip: str) -> int | None:
        """Count this attempt; seconds to wait if it is over a limit (then check no password)."""
        windows = ((self.pair_item, self._pair_key(email, ip)), (self.ip_item, f"ip:{ip}"))
        try:
            for item, key in windows:
                if not await self.strategy.hit(item, NAMESPACE, key):
                    stats = await self.strategy.get_window_stats(item, NAMESPACE, key)
                    return max(1, math.ceil(stats.reset_time - time.time()))
        except Exception:
            log.exception("login throttle storage failed; attempt allowed")
        return None

    async def succeeded(self, email: str, ip: str) -> None:
        """The owner got in from this address: its (email, IP) count starts over (the IP's does not)."""
        try:
            await self.strategy.clear(self.pair_item, NAMESPACE, self._pair_key(email, ip))
        except Exception:
            log.exception("login throttle storage failed; count not cleared")
