"""Cookieless identity: visitor id = hash(salt of the UTC day, site domain, ip, user agent).

Salts are random per UTC day and deleted after 48 hours, so a hash can no longer be recomputed
or linked to the next day's. Raw IPs and User-Agents never leave this function.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from hashlib import blake2b

from sqlalchemy import Connection, delete, select, text

from analytics_mcp.storage.schema import salts
from analytics_mcp.timeutil import DAY_MS

_CREATE = text(
    "INSERT INTO salts (day, salt, created_at) VALUES (:day, :salt, :created_at) ON CONFLICT (day) DO NOTHING"
)
# A salt is kept for its own day and the next (midnight-crossing visits), i.e. 48 h from the
# start of its day; an imported old day's salt is kept at least this long so one import uses one.
SALT_GRACE_SECONDS = 3600


def utc_day(ts_ms: int) -> str:
    return _day_text(ts_ms // DAY_MS)


@lru_cache(maxsize=4096)  # one entry per UTC day seen; every event asks
def _day_text(day_index: int) -> str:
    return datetime.fromtimestamp(day_index * 86_400, UTC).date().isoformat()


@lru_cache(maxsize=4096)
def previous_day(day: str) -> str:
    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()


def identity_key(domain: str, ip: str, user_agent: str) -> bytes:
    """What a visitor id hashes, besides the salt."""
    return b"\x00".join((domain.encode(), ip.encode(), user_agent.encode()))


def keyed(salt: bytes) -> blake2b:
    """A day's hash state with its salt as the key, for `visitor_id` to copy: setting up a keyed
    BLAKE2b took a third of each id. Keep it no longer than a batch: a deleted salt must leave
    memory (SaltStore's minute)."""
    return blake2b(key=salt, digest_size=8)


def visitor_id(keyed_state: blake2b, key: bytes) -> int:
    """blake2b(key, key=salt, digest_size=8) as a signed integer, from `keyed(salt)`."""
    hasher = keyed_state.copy()
    hasher.update(key)
    return int.from_bytes(hasher.digest(), "big", signed=True)


CACHE_SECONDS = 60.0  # a deleted salt leaves every process's memory within this


class SaltStore:
    """Salts by UTC day, cached in memory for a minute. Whoever needs a day's salt first creates
    it; a concurrent creator's salt wins and both use it."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[bytes, float]] = {}
        self._missing: dict[str, float] = {}  # day -> when it was looked up and not found
        self._last_cleanup = 0.0

    def begin_batch(self) -> None:
        """Forget misses older than a second: another process may have created those salts."""
        now = time.monotonic()
        for day, seen in list(self._missing.items()):
            if now - seen > 1.0:
                del self._missing[day]

    def get(self, conn: Connection, day: str, *, create: bool) -> bytes | None:
        cached = self._cache.get(day)
        now = time.monotonic()
        if cached is not None and now - cached[1] < CACHE_SECONDS:
            return cached[0]
        if not create and day in self._missing:
            return None
        query = select(salts.c.salt).where(salts.c.day == day)
        salt = conn.execute(query).scalar()
        if salt is None and create:
            created_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            conn.execute(_CREATE, {"day": day, "salt": secrets.token_bytes(16), "created_at": created_at})
            salt = conn.execute(query).scalar()
        if salt is not None:
            self._cache[day] = (salt, now)
            self._missing.pop(day, None)
        else:
            self._cache.pop(day, None)
            self._missing[day] = now
        return salt

    def cleanup(self, conn: Connection, *, now: float | None = None, force: bool = False) -> int | None:
        """Delete salts whose 48 hours are over (at most once a minute unless forced): how many,
        or None when it was not yet time to look."""
        now = time.time() if now is None else now
        if not force and now - self._last_cleanup < 60:
            return None
        self._last_cleanup = now
        keep_from = (datetime.fromtimestamp(now, UTC).date() - timedelta(days=1)).isoformat()
        created_before = datetime.fromtimestamp(now - SALT_GRACE_SECONDS, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        result = conn.execute(
            delete(salts).where(salts.c.day < keep_from, salts.c.created_at < created_before)
        )
        remaining = set(conn.execute(select(salts.c.day)).scalars())
        for day in list(self._cache):
            if day not in remaining:
                del self._cache[day]
        return result.rowcount or 0
