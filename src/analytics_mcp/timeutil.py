"""Time without a database: ISO 8601 UTC strings with second precision for account timestamps
("2026-02-17T14:22:00Z"), and zone math on epoch milliseconds (local midnights, UTC offsets and
where they change) for reports and rollups."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
HOUR_MS = 3_600_000
DAY_MS = 86_400_000


def to_iso(moment: datetime) -> str:
    """`moment` as an ISO UTC string; naive datetimes are taken to be UTC already."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(ISO_FORMAT)


def utc_now() -> datetime:
    return datetime.now(UTC)


def local_day(now: datetime, timezone: str) -> date:
    """The calendar day `now` falls on in `timezone`."""
    return now.astimezone(ZoneInfo(timezone)).date()


def utcnow_iso() -> str:
    return to_iso(datetime.now(UTC))


def parse_iso(value: str) -> datetime:
    """An aware UTC datetime from an ISO string (with "Z" or an offset; naive means UTC)."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def local_midnight_ms(day: date, zone: ZoneInfo) -> int:
    return int(datetime.combine(day, time(), tzinfo=zone).timestamp() * 1000)


def offset_ms(zone: ZoneInfo, ts_ms: int) -> int:
    moment = datetime.fromtimestamp(ts_ms / 1000, UTC).astimezone(zone)
    delta = moment.utcoffset() or timedelta(0)
    return int(delta.total_seconds() * 1000)


def offset_segments(zone: ZoneInfo, start_ms: int, end_ms: int) -> list[tuple[int, int]]:
    """[(from_ms, offset_ms)] covering [start_ms, end_ms): the first starts at start_ms, each next
    one at a transition. Daily probes find changes; bisection pins them to the second."""
    segments = [(start_ms, offset_ms(zone, start_ms))]
    probe, last = start_ms, end_ms - 1
    while probe < last:
        nxt = min(probe + DAY_MS, last)
        if offset_ms(zone, nxt) != segments[-1][1]:
            at = _transition(zone, probe, nxt)
            segments.append((at, offset_ms(zone, at)))
        probe = nxt
    return segments


def _transition(zone: ZoneInfo, low_ms: int, high_ms: int) -> int:
    """The first second in (low, high] whose offset differs from low's."""
    before = offset_ms(zone, low_ms)
    low, high = low_ms // 1000, -(-high_ms // 1000)
    while high - low > 1:
        mid = (low + high) // 2
        if offset_ms(zone, mid * 1000) == before:
            low = mid
        else:
            high = mid
    return high * 1000
