"""Hot-path value formatting for exports: row ULIDs, ISO times and session hashes (visitor hashes
are engine.goals.visitor_hash, as the goal completion reports show them).

Each runs once per exported row, so they avoid generic machinery: the ULID comes from lookup
tables of 10-bit digit pairs (python-ulid and base64.b32encode are several times slower), times
from a per-day prefix cache and two-digit tables. Both give exactly what `storage.ids.row_ulid`
and `timeutil.ISO_FORMAT` give (tests check).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import OrderedDict
from typing import TypeVar

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS = tuple(a + b for a in _CROCKFORD for b in _CROCKFORD)  # 10 bits -> 2 digits
_ZEROS8 = "0" * 8
_SMALL_TAIL = 1 << 40  # row ids below this have 8 leading zero digits in the 80-bit tail
_TWO_DIGITS = tuple(f"{n:02d}" for n in range(60))
CACHE_LIMIT = 4096  # entries per cache: rows come in time order, so recent ones suffice
T = TypeVar("T")
Cache = OrderedDict[int, T]


def remember(cache: Cache[T], key: int, value: T, limit: int = CACHE_LIMIT) -> T:
    """Add to a bounded cache, dropping the oldest entry when full. One at a time, on purpose:
    dropping a whole cache at once hands its memory back to the OS, and faulting fresh pages in
    for the next entries costs more than the entries themselves (very much so in a VM)."""
    if len(cache) >= limit:
        cache.popitem(last=False)
    cache[key] = value
    return value


def _pairs(value: int, count: int) -> str:
    """`count` digit pairs of `value`, most significant first."""
    return "".join(_PAIRS[(value >> (10 * (count - 1 - i))) & 1023] for i in range(count))


class Formatter:
    """Formats one export's values; its caches are bounded, so memory stays flat."""

    def __init__(self, session_key: bytes) -> None:
        self._session_hash = hashlib.blake2b(key=session_key, digest_size=8)  # copied per use
        self._time_prefix: Cache[str] = OrderedDict()  # ts >> 20 -> first 6 ULID digits
        self._id_prefix: Cache[str] = OrderedDict()  # row_id >> 20 -> digits 11 to 22
        self._days: Cache[str] = OrderedDict()  # epoch day -> "YYYY-MM-DDT"
        self._sessions: Cache[str] = OrderedDict()

    def ulid(self, ts: int, row_id: int) -> str:
        """storage.ids.row_ulid(ts, row_id): 48-bit time, then the row id as an 80-bit tail. The
        high digits of both change slowly, so they come from small caches."""
        high = self._time_prefix.get(ts >> 20)
        if high is None:
            high = remember(self._time_prefix, ts >> 20, _pairs(ts >> 20, 3))
        if row_id >= _SMALL_TAIL:
            return high + _PAIRS[(ts >> 10) & 1023] + _PAIRS[ts & 1023] + _pairs(row_id, 8)
        tail = self._id_prefix.get(row_id >> 20)
        if tail is None:
            tail = remember(self._id_prefix, row_id >> 20, _ZEROS8 + _pairs(row_id >> 20, 2))
        return (
            f"{high}{_PAIRS[(ts >> 10) & 1023]}{_PAIRS[ts & 1023]}"
            f"{tail}{_PAIRS[(row_id >> 10) & 1023]}{_PAIRS[row_id & 1023]}"
        )

    def iso(self, ts: int) -> str:
        """Epoch ms as "2026-02-17T14:22:00Z" (second precision, like every other door)."""
        day, second = divmod(ts // 1000, 86_400)
        prefix = self._days.get(day)
        if prefix is None:
            prefix = remember(self._days, day, time.strftime("%Y-%m-%dT", time.gmtime(day * 86_400)))
        hour, second = divmod(second, 3600)
        minute, second = divmod(second, 60)
        return f"{prefix}{_TWO_DIGITS[hour]}:{_TWO_DIGITS[minute]}:{_TWO_DIGITS[second]}Z"

    def session(self, visit_id: int) -> str:
        """A keyed hash of the visit id: stable across exports, reveals nothing (not even how many
        visits the server has stored, which the raw row id would)."""
        digest = self._sessions.get(visit_id)
        if digest is None:
            digest = remember(self._sessions, visit_id, self.session_uncached(visit_id))
        return digest

    def session_uncached(self, visit_id: int) -> str:
        state = self._session_hash.copy()
        state.update(visit_id.to_bytes(8, "big", signed=True))
        return state.hexdigest()


def session_key(secret: str) -> bytes:
    """The session-hash key: derived from the app secret, never the secret itself."""
    return hmac.new(secret.encode(), b"analytics-mcp export session_hash v1", hashlib.sha256).digest()
