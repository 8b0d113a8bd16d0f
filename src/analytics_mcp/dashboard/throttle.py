"""Failed sign-in throttling, per email and per client IP (moving window, `limits`).

Only failures count. Before checking a password we ask whether either key is already over its
limit, and refuse with Retry-After without touching argon2, so guessing stays slow and cheap for
us. Per email stops guessing one account from many addresses; per IP stops one address spraying
many accounts. The storage URL is the API limiter's, so several servers share counts via Redis.
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

log = logging.getLogger("analytics_mcp.dashboard")

EMAIL_LIMIT = "5 per 15 minutes"
IP_LIMIT = "20 per 15 minutes"
NAMESPACE = "dashboard-login"


class LoginThrottle:
    def __init__(
        self, storage_url: str = "memory://", email_limit: str = EMAIL_LIMIT, ip_limit: str = IP_LIMIT
    ) -> None:
        url = storage_url if storage_url.startswith("async+") else f"async+{storage_url}"
        self.strategy = MovingWindowRateLimiter(storage_from_string(url))
        self.rules: tuple[tuple[str, RateLimitItem], ...] = (
            ("email", parse(email_limit)),
            ("ip", parse(ip_limit)),
        )

    def _keys(self, email: str, ip: str) -> list[tuple[RateLimitItem, str]]:
        values = {"email": email.strip().lower()[:320], "ip": ip}
        return [(item, f"{kind}:{values[kind]}") for kind, item in self.rules]

    async def retry_after(self, email: str, ip: str) -> int | None:
        """Seconds to wait if this email or IP has used up its failures, else None."""
        waits = []
        try:
            for item, key in self._keys(email, ip):
                if not await self.strategy.test(item, NAMESPACE, key):
                    stats = await self.strategy.get_window_stats(item, NAMESPACE, key)
                    waits.append(max(1, math.ceil(stats.reset_time - time.time())))
        except Exception:
            log.exception("login throttle storage failed; attempt allowed")
            return None
        return max(waits) if waits else None

    async def failed(self, email: str, ip: str) -> None:
        try:
            for item, key in self._keys(email, ip):
                await self.strategy.hit(item, NAMESPACE, key)
        except Exception:
            log.exception("login throttle storage failed; failure not counted")

    async def succeeded(self, email: str) -> None:
        """The owner got in: their account's failure count starts over (the IP's does not)."""
        item, key = self._keys(email, "")[0]
        try:
            await self.strategy.clear(item, NAMESPACE, key)
        except Exception:
            log.exception("login throttle storage failed; count not cleared")
