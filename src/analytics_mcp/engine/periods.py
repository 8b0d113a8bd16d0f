"""Periods -> date ranges in a time zone (pure date math, no database).

- `Nd`: the N calendar days ending today, today included, in the zone (today is partial).
- `yesterday`: the local day before today. `last_N_complete_days`: the N days ending yesterday,
  so every day in range is over (7, 28, 30 or 90).
- `12m`: the 12 months ending today: from the same day of the month a year ago, plus one day
  (2026-02-17 -> 2025-02-18 .. 2026-02-17; a missing day of month clamps to the month's last day).
- `24h`: the 24 whole local hours ending with the current one (the current, partial hour is the
  last of 24 hourly buckets).
- `from`/`to`: inclusive local dates, both required together; they override `period`.

The comparison range (`compare`): `previous_period` (default) is the one of the same length right
before (24 hours, or as many days); `year_over_year` the same local dates (or hours) a year
earlier (29 February -> 28 February); `custom` the inclusive dates `compare_from`/`compare_to`,
of any length.

The timeseries interval (`interval`): hour for 24h; for dates, day up to 92 days, week (ISO, from
Monday) up to 366 days (so 12m), month beyond, unless asked. hour is allowed for at most 7 days,
and 24h has hours only.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from typing import Literal, NamedTuple, get_args
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from analytics_mcp.engine.errors import QueryError
from analytics_mcp.timeutil import HOUR_MS, local_midnight_ms

Interval = Literal["hour", "day", "week", "month"]
INTERVALS: tuple[Interval, ...] = get_args(Interval)
MAX_DAY_BUCKETS_DAYS = 92  # the longest range that gets day buckets by default (90d and 3 months)
MAX_WEEK_BUCKETS_DAYS = 366  # ... and week buckets (12m); longer ranges get months
MAX_HOUR_RANGE_DAYS = 7  # hour buckets over more days than this are refused
INTERVAL_RULE = (
    "Timeseries buckets: hour (24h, or ranges of at most 7 days), day, week (ISO, from Monday) or "
    "month, in the site's time zone; default hour for 24h, day up to 92 days, week up to 366 days "
    "(12m), month beyond"
)
# The one list: REST params and MCP args use it.
Period = Literal[
    "24h",
    "7d",
    "30d",
    "90d",
    "12m",
    "yesterday",
    "last_7_complete_days",
    "last_28_complete_days",
    "last_30_complete_days",
    "last_90_complete_days",
]
PERIODS: tuple[Period, ...] = get_args(Period)
Compare = Literal["previous_period", "year_over_year", "custom"]
COMPARES: tuple[Compare, ...] = get_args(Compare)
DEFAULT_PERIOD = "7d"
DEFAULT_COMPARE: Compare = "previous_period"
CUSTOM_PERIOD = "custom"
COMPLETE_PREFIX, COMPLETE_SUFFIX = "last_", "_complete_days"
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


class Resolved(NamedTuple):
    """A question's period: its label, bucket interval, range, and comparison range."""

    period: str
    interval: Interval
    range: DateRange
    comparison: DateRange
    compare: Compare


def resolve_range(
    zone: ZoneInfo,
    now: datetime,
    period: str | None,
    date_from: str | date | None,
    date_to: str | date | None,
    compare: str | None = None,
    compare_dates: tuple[str | date | None, str | date | None] = (None, None),
    interval: str | None = None,
) -> Resolved:
    """The range asked for and the one it is compared with (`compare_dates`: compare_from,
    compare_to), with the timeseries `interval` asked for (None: the range's default)."""
    mode = _compare_mode(compare, compare_dates)
    label, current, previous = _current(zone, now, period, date_from, date_to)
    if mode == "year_over_year":
        previous = _year_before(current, label, zone)
    elif mode == "custom":
        first, last = _dates(compare_dates[0], compare_dates[1], "compare_from", "compare_to")
        previous = day_range(first, last, zone)
    return Resolved(label, _interval(interval, label, current), current, previous, mode)


def default_interval(days: int) -> Interval:
    """The buckets of a range of local days when none is asked for (module docstring)."""
    if days <= MAX_DAY_BUCKETS_DAYS:
        return "day"
    return "week" if days <= MAX_WEEK_BUCKETS_DAYS else "month"


def _interval(asked: str | None, label: str, current: DateRange) -> Interval:
    if label == "24h":
        if asked not in (None, "hour"):
            raise QueryError("interval", "must be hour for period 24h")
        return "hour"
    if asked is None:
        return default_interval(current.days)
    for known in INTERVALS:
        if asked == known:
            if known == "hour" and current.days > MAX_HOUR_RANGE_DAYS:
                raise QueryError("interval", f"hour needs a range of at most {MAX_HOUR_RANGE_DAYS} days")
            return known
    raise QueryError("interval", f"must be one of {', '.join(INTERVALS)}")


def _compare_mode(compare: str | None, dates: tuple[str | date | None, str | date | None]) -> Compare:
    if compare is not None and compare not in COMPARES:
        raise QueryError("compare", f"must be one of {', '.join(COMPARES)}")
    given = dates != (None, None)
    if given and compare not in (None, "custom"):
        raise QueryError("compare", "must be custom (or omitted) with compare_from/compare_to")
    if compare == "custom" and dates[0] is None:
        raise QueryError("compare_from", "required when compare is custom")
    if given:
        return "custom"
    return DEFAULT_COMPARE if compare is None else compare


def _current(
    zone: ZoneInfo,
    now: datetime,
    period: str | None,
    date_from: str | date | None,
    date_to: str | date | None,
) -> tuple[str, DateRange, DateRange]:
    """(period label, current range, the previous range of the same length)."""
    if date_from is not None or date_to is not None:
        first, last = _dates(date_from, date_to, "from", "to")
        return CUSTOM_PERIOD, *_with_previous(first, last, zone)
    label = DEFAULT_PERIOD if period is None else period  # an empty period is refused
    if label not in PERIODS:
        raise QueryError("period", f"must be one of {', '.join(PERIODS)}")
    if label == "24h":
        return label, *_last_24_hours(zone, now)
    today = now.astimezone(zone).date()
    first, last = _days_of(label, today)
    return label, *_with_previous(first, last, zone)


def _days_of(label: str, today: date) -> tuple[date, date]:
    """First and last local day of a day-based period label."""
    if label == "12m":
        return months_back(today, 12) + timedelta(days=1), today
    if label == "yesterday":
        return today - timedelta(days=1), today - timedelta(days=1)
    if label.startswith(COMPLETE_PREFIX):
        days = int(label.removeprefix(COMPLETE_PREFIX).removesuffix(COMPLETE_SUFFIX))
        return today - timedelta(days=days), today - timedelta(days=1)
    return today - timedelta(int(label[:-1]) - 1), today


def _dates(
    first_value: str | date | None, last_value: str | date | None, first_field: str, last_field: str
) -> tuple[date, date]:
    """Inclusive dates given as a pair (`from`/`to`, `compare_from`/`compare_to`)."""
    if first_value is None:
        raise QueryError(last_field, f"requires {first_field}")
    if last_value is None:
        raise QueryError(last_field, f"required when {first_field} is set")
    first = parse_date(first_field, first_value)
    last = parse_date(last_field, last_value)
    if first > last:
        raise QueryError(first_field, f"must not be after {last_field}")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise QueryError(last_field, f"range must be at most {MAX_RANGE_DAYS} days")
    return first, last


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


def year_before(day: date) -> date:
    """The same date a year earlier; 29 February becomes 28 February."""
    return months_back(day, 12)


def _year_before(current: DateRange, label: str, zone: ZoneInfo) -> DateRange:
    if label != "24h":
        return day_range(year_before(current.date_from), year_before(current.date_to), zone)
    # Hours (24h): the same local wall-clock hours a year earlier, as many as now.
    local = datetime.fromtimestamp(current.start_ms / 1000, zone)
    moved = local.replace(year=local.year - 1, day=year_before(local.date()).day)
    start = int(moved.replace(tzinfo=zone).timestamp() * 1000)
    return ms_range(start, start + current.end_ms - current.start_ms, zone)


def data_through(rng: DateRange, as_of: datetime | None, zone: ZoneInfo) -> datetime | None:
    """The local instant data counts through when `rng` is not over at `as_of` (it contains now:
    the current day is partial), else None."""
    if as_of is None:
        return None
    as_of_ms = int(as_of.timestamp() * 1000)
    if as_of_ms >= rng.end_ms:
        return None
    return as_of.astimezone(zone).replace(microsecond=0)
