"""Periods -> date ranges in a time zone (pure date math, no database).

- `Nd`: the N calendar days ending today, today included, in the zone.
- `12m`: the 12 months ending today: from the same day of the month a year ago, plus one day
  (2026-02-17 -> 2025-02-18 .. 2026-02-17; a missing day of month clamps to the month's last day).
- `24h`: the 24 whole local hours ending with the current one (the current, partial hour is the
  last of 24 hourly buckets).
- `from`/`to`: inclusive local dates, both required together; they override `period`.
The comparison range is the one of the same length right before (24 hours, or as many days).
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from analytics_mcp.engine.errors import QueryError
from analytics_mcp.timeutil import HOUR_MS, local_midnight_ms

Interval = Literal["hour", "day"]
Period = Literal["24h", "7d", "30d", "90d", "12m"]  # the one list: REST params and MCP args use it
PERIODS: tuple[Period, ...] = get_args(Period)
DEFAULT_PERIOD = "7d"
CUSTOM_PERIOD = "custom"
MAX_RANGE_DAYS = 5 * 366
MIN_DATE = date(1971, 1, 1)
MAX_DATE = date(9990, 12, 31)


class DateRange(BaseModel):
    """Inclusive local dates and the half-open UTC window [start_ms, end_ms) they cover."""

    model_config = ConfigDict(frozen=True)

    date_from: date
    date_to: date
    start_ms: int
    end_ms: int

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1


def day_range(date_from: date, date_to: date, zone: ZoneInfo) -> DateRange:
    start = local_midnight_ms(date_from, zone)
    end = local_midnight_ms(date_to + timedelta(days=1), zone)
    return DateRange(date_from=date_from, date_to=date_to, start_ms=start, end_ms=end)


def ms_range(start_ms: int, end_ms: int, zone: ZoneInfo) -> DateRange:
    first = datetime.fromtimestamp(start_ms / 1000, zone).date()
    last = datetime.fromtimestamp((end_ms - 1) / 1000, zone).date()
    return DateRange(date_from=first, date_to=last, start_ms=start_ms, end_ms=end_ms)


def months_back(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last_day))


def parse_date(field: str, value: str | date) -> date:
    parsed: date | None
    if isinstance(value, date):
        parsed = value
    else:
        try:
            parsed = date.fromisoformat(value) if len(value) == 10 else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise QueryError(field, "must be a valid date as YYYY-MM-DD")
    if not MIN_DATE <= parsed <= MAX_DATE:
        raise QueryError(field, f"must be between {MIN_DATE} and {MAX_DATE}")
    return parsed


def resolve_range(
    zone: ZoneInfo,
    now: datetime,
    period: str | None,
    date_from: str | date | None,
    date_to: str | date | None,
) -> tuple[str, Interval, DateRange, DateRange]:
    """(period label, interval, current range, comparison range)."""
    if date_to is not None and date_from is None:
        raise QueryError("to", "requires from")
    if date_from is not None:
        if date_to is None:
            raise QueryError("to", "required when from is set")
        return _custom(zone, date_from, date_to)
    label = period or DEFAULT_PERIOD
    if label not in PERIODS:
        raise QueryError("period", f"must be one of {', '.join(PERIODS)}")
    if label == "24h":
        return label, "hour", *_last_24_hours(zone, now)
    today = now.astimezone(zone).date()
    first = (
        months_back(today, 12) + timedelta(days=1)
        if label == "12m"
        else today - timedelta(int(label[:-1]) - 1)
    )
    return label, "day", *_with_previous(first, today, zone)


def _custom(
    zone: ZoneInfo, date_from: str | date, date_to: str | date
) -> tuple[str, Interval, DateRange, DateRange]:
    first = parse_date("from", date_from)
    last = parse_date("to", date_to)
    if first > last:
        raise QueryError("from", "must not be after to")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise QueryError("to", f"range must be at most {MAX_RANGE_DAYS} days")
    return CUSTOM_PERIOD, "day", *_with_previous(first, last, zone)


def _with_previous(first: date, last: date, zone: ZoneInfo) -> tuple[DateRange, DateRange]:
    span = timedelta(days=(last - first).days + 1)
    previous = day_range(first - span, first - timedelta(days=1), zone)
    return day_range(first, last, zone), previous


def _last_24_hours(zone: ZoneInfo, now: datetime) -> tuple[DateRange, DateRange]:
    local = now.astimezone(zone)
    hour_start = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    end = int(hour_start.timestamp() * 1000) + HOUR_MS
    start = end - 24 * HOUR_MS
    return ms_range(start, end, zone), ms_range(start - 24 * HOUR_MS, start, zone)
