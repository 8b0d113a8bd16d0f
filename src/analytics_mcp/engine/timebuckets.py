"""Local-time bucketing that is exact across DST changes.

Event times are UTC epoch ms. The zone's UTC offsets over the range are computed in Python
(zoneinfo) and compiled into one CASE (`ts + offset`), which gives "local ms": in local ms every
local day is exactly 86 400 000 long, so a day bucket is an integer division, whatever the DST
changes. Hour buckets (24h) are absolute hours from the range start, which is aligned on a local
hour.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, literal

from analytics_mcp.engine.query import Query
from analytics_mcp.storage.dialects import Dialect
from analytics_mcp.storage.sql_time import local_ms
from analytics_mcp.timeutil import DAY_MS, HOUR_MS, local_midnight_ms, offset_segments

_EPOCH = date(1970, 1, 1)


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
    return [day.isoformat() for day in _days(query)]


def bucket_plan(query: Query, dialect: Dialect) -> Buckets:
    rng, zone = query.range, query.zone
    labels = bucket_labels(query)
    if query.interval == "hour":
        starts = list(range(rng.start_ms, rng.end_ms, HOUR_MS))
        return Buckets(
            labels, starts, rng.end_ms, lambda ts: dialect.int_div(ts - literal(rng.start_ms), HOUR_MS)
        )
    origin = (rng.date_from - _EPOCH).days * DAY_MS  # the first day's midnight in local ms
    segments = offset_segments(zone, rng.start_ms, rng.end_ms)

    def index(ts: ColumnElement[Any]) -> ColumnElement[int]:
        return dialect.int_div(local_ms(ts, segments) - literal(origin), DAY_MS)

    starts = [local_midnight_ms(day, zone) for day in _days(query)]
    return Buckets(labels, starts, rng.end_ms, index)


def hour_of_day_index(query: Query, dialect: Dialect, ts: ColumnElement[Any]) -> ColumnElement[int]:
    segments = offset_segments(query.zone, query.range.start_ms, query.range.end_ms)
    return dialect.int_div(local_ms(ts, segments), HOUR_MS) % literal(24)


def _days(query: Query) -> list[date]:
    rng = query.range
    return [rng.date_from + timedelta(days=i) for i in range(rng.days)]


def _hour_label(ms: int, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(ms / 1000, zone).isoformat(timespec="seconds")
