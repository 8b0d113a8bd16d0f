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

from sqlalchemy import Connection, delete, insert, select

from analytics_mcp.storage.schema import salts

DAY_MS = 86_400_000
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


def visitor_id(salt: bytes, domain: str, ip: str, user_agent: str) -> int:
    digest = blake2b(
        b"\x00".join((domain.encode(), ip.encode(), user_agent.encode())), key=salt, digest_size=8
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


class SaltStore:
    """Salts by UTC day, cached in memory; only the writer creates them (inside its transaction)."""

    def __init__(self) -> None:
        self._cache: dict[str, bytes] = {}
        self._missing: set[str] = set()  # days looked up without create, within one batch
        self._last_cleanup = 0.0

    def begin_batch(self) -> None:
        """Forget misses: another writer may have created those salts since."""
        self._missing.clear()

    def get(self, conn: Connection, day: str, *, create: bool) -> bytes | None:
        salt = self._cache.get(day)
        if salt is not None or (not create and day in self._missing):
            return salt
        salt = conn.execute(select(salts.c.salt).where(salts.c.day == day)).scalar()
        if salt is None and create:
            salt = secrets.token_bytes(16)
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            conn.execute(insert(salts).values(day=day, salt=salt, created_at=now))
        if salt is not None:
            self._cache[day] = salt
            self._missing.discard(day)
        else:
            self._missing.add(day)
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
