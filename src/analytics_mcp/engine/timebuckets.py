"""Local-time bucketing that is exact across DST changes.

Event times are UTC epoch ms. The zone's UTC offsets over the range are computed in Python
(zoneinfo) and compiled into one CASE (`ts + offset`), which gives "local ms": in local ms every
local day is exactly 86 400 000 long, so a day bucket is an integer division, whatever the DST
changes. Hour buckets (24h) are absolute hours from the range start, which is aligned on a local
hour. Week buckets (ISO weeks, Monday to Sunday) are the same division by 7 days from the Monday
on or before the range's first day; month buckets compare the time with the months' starts.

Week and month buckets are labelled by their natural first day (the Monday, the 1st) even when the
range cuts them: the first and last may be partial (`partial_labels`), and their `starts` are
where the range's part of them begins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, literal

from analytics_mcp.engine.query import Query
from analytics_mcp.storage.dialects import Dialect
from analytics_mcp.storage.sql_time import local_ms
from analytics_mcp.timeutil import DAY_MS, HOUR_MS, local_midnight_ms, offset_segments

_EPOCH = date(1970, 1, 1)
WEEK_MS = 7 * DAY_MS


@dataclass(frozen=True, slots=True)
class Buckets:
    """The timeseries buckets of a query: labels, where each starts (UTC ms), and `index(ts)`, the
    SQL expression of a time's bucket number."""

    labels: list[str]
    starts: list[int]
    end_ms: int
    index: Callable[[ColumnElement[Any]], ColumnElement[int]]


def bucket_labels(query: Query) -> list[str]:
    """The buckets' labels alone (no SQL): what a report shows, whichever store counted."""
    rng = query.range
    if query.interval == "hour":
        return [_hour_label(ms, query.zone) for ms in range(rng.start_ms, rng.end_ms, HOUR_MS)]
    return [natural_first(day, query.interval).isoformat() for day in bucket_first_days(query)]


def partial_labels(query: Query) -> list[str]:
    """Labels of the week or month buckets the range cuts (its first and/or last); none for
    hours and days."""
    if query.interval in ("hour", "day"):
        return []
    rng, firsts = query.range, bucket_first_days(query)
    cut = {firsts[0]} if natural_first(rng.date_from, query.interval) != rng.date_from else set()
    if next_first(rng.date_to, query.interval) != rng.date_to + timedelta(days=1):
        cut.add(firsts[-1])
    return [natural_first(day, query.interval).isoformat() for day in firsts if day in cut]


def bucket_first_days(query: Query) -> list[date]:
    """The first local day of each day, week or month bucket inside the range (the range's first
    day for the first bucket)."""
    rng, interval = query.range, query.interval
    firsts = [rng.date_from]
    while (following := next_first(firsts[-1], interval)) <= rng.date_to:
        firsts.append(following)
    return firsts


def natural_first(day: date, interval: str) -> date:
    """The first day of the day, ISO week or calendar month holding `day`."""
    if interval == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1) if interval == "month" else day


def next_first(day: date, interval: str) -> date:
    """The first day of the bucket after the one holding `day`."""
    if interval == "week":
        return natural_first(day, interval) + timedelta(days=7)
    if interval == "month":
        return (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    return day + timedelta(days=1)


def bucket_starts(query: Query) -> list[int]:
    """Where each bucket starts inside the range, UTC ms."""
    rng = query.range
    if query.interval == "hour":
        return list(range(rng.start_ms, rng.end_ms, HOUR_MS))
    return [local_midnight_ms(day, query.zone) for day in bucket_first_days(query)]


def bucket_plan(query: Query, dialect: Dialect) -> Buckets:
    rng, zone, interval = query.range, query.zone, query.interval
    labels, starts = bucket_labels(query), bucket_starts(query)
    if interval == "hour":
        return Buckets(
            labels, starts, rng.end_ms, lambda ts: dialect.int_div(ts - literal(rng.start_ms), HOUR_MS)
        )
    if interval == "month":  # months differ in length: compare with their starts
        return Buckets(labels, starts, rng.end_ms, lambda ts: _by_starts(ts, starts))
    # The first bucket's natural first day's midnight in local ms: days and weeks are divisions.
    origin = (natural_first(rng.date_from, interval) - _EPOCH).days * DAY_MS
    width = WEEK_MS if interval == "week" else DAY_MS
    segments = offset_segments(zone, rng.start_ms, rng.end_ms)

    def index(ts: ColumnElement[Any]) -> ColumnElement[int]:
        return dialect.int_div(local_ms(ts, segments) - literal(origin), width)

    return Buckets(labels, starts, rng.end_ms, index)


def _by_starts(ts: ColumnElement[Any], starts: list[int]) -> ColumnElement[int]:
    """The number of the bucket holding `ts` (in range): the last start at or before it."""
    if len(starts) == 1:
        return literal(0)
    whens = [(ts < literal(start), i) for i, start in enumerate(starts[1:])]
    return case(*whens, else_=len(starts) - 1)


def hour_of_day_index(query: Query, dialect: Dialect, ts: ColumnElement[Any]) -> ColumnElement[int]:
    segments = offset_segments(query.zone, query.range.start_ms, query.range.end_ms)
    return dialect.int_div(local_ms(ts, segments), HOUR_MS) % literal(24)


def _hour_label(ms: int, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(ms / 1000, zone).isoformat(timespec="seconds")
