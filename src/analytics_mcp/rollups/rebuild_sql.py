"""Shared pieces of the rollup rebuild: a site's local clock as SQL, value encoding, scratch tables.

Local time is computed like the engine does (`engine.timebuckets`): the zone's UTC offsets over the
site's data are compiled into one CASE (`ts + offset`), which gives local ms where every local day
is exactly 86 400 000 long, so the local day and hour are integer divisions, DST included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    Float,
    Integer,
    MetaData,
    Table,
    Text,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.sql.elements import Null

from analytics_mcp.rollups.keys import NO_VALUE, VISIT_ATTRIBUTES, Dim, date_of, local_day
from analytics_mcp.storage.dialects import Dialect, dialect_named
from analytics_mcp.storage.schema import ROLLUP_COUNTERS, ecommerce_items, events, goal_completions, visits
from analytics_mcp.storage.sql_time import local_ms
from analytics_mcp.timeutil import DAY_MS, HOUR_MS, local_midnight_ms, offset_segments

PURCHASE = "purchase"  # the e-commerce event counted as a transaction
RECENT_DAYS = 4  # visitor_marks keep the marks of the site's local today - 4 onwards


@dataclass(frozen=True, slots=True)
class SiteClock:
    """One site's local time as SQL expressions, and the value encoding of the connection."""

    site_id: int
    zone: ZoneInfo
    segments: list[tuple[int, int]]  # [(from_ms, offset_ms)] covering the site's data
    dialect: Dialect
    recent_day: int  # first local day whose marks go to visitor_marks
    recent_ms: int  # a day before its local midnight (UTC ms): an index bound, the day filter decides

    @classmethod
    def of(cls, conn: Connection, site_id: int, zone: ZoneInfo, now_s: int) -> SiteClock:
        now_ms = now_s * 1000
        low, high = data_bounds(conn, site_id)
        low, high = (now_ms, now_ms) if low is None or high is None else (low, high)
        segments = offset_segments(zone, low, high + 1)
        recent_day = local_day(zone, now_ms) - RECENT_DAYS
        recent_ms = local_midnight_ms(date_of(recent_day), zone) - DAY_MS
        return cls(site_id, zone, segments, dialect_named(conn.dialect.name), recent_day, recent_ms)

    @property
    def steady(self) -> bool:
        """One UTC offset over all of the site's data (no DST change inside it)."""
        return len(self.segments) == 1

    def local(self, ts: ColumnElement[Any]) -> ColumnElement[int]:
        return local_ms(ts, self.segments)

    def day(self, ts: ColumnElement[Any]) -> ColumnElement[int]:
        return self.dialect.int_div(self.local(ts), DAY_MS)

    def hour_index(self, ts: ColumnElement[Any]) -> ColumnElement[int]:
        """Local hours since 1970-01-01 00:00 local: day = index // 24, hour = index % 24."""
        return self.dialect.int_div(self.local(ts), HOUR_MS)

    def segment(self, ts: ColumnElement[Any]) -> ColumnElement[int]:
        """The number of the offset segment an instant falls in."""
        starts = [start for start, _ in self.segments[1:]]
        if not starts:
            return literal(0)
        return case(*((ts < start, literal(i)) for i, start in enumerate(starts)), else_=literal(len(starts)))

    def encode(self, *parts: ColumnElement[Any]) -> ColumnElement[str]:
        return encode_sql(self.dialect.NAME, *parts)


def _typed(part: ColumnElement[Any]) -> ColumnElement[Any]:
    """A bare NULL has no type for PostgreSQL's to_json(); give it one (text)."""
    return cast(part, Text) if isinstance(part, Null) else part


def encode_sql(dialect_name: str, *parts: ColumnElement[Any]) -> ColumnElement[str]:
    """SQL for `keys.encode(*parts)`: a compact JSON array, non-ASCII kept as is. SQLite's
    json_array() produces exactly orjson's text for strings, integers and null (quotes, control
    characters and non-ASCII checked by the tests); PostgreSQL's to_json() escapes the same way."""
    if not parts:
        return literal(NO_VALUE, Text)
    if dialect_name == "sqlite":
        return func.json_array(*parts, type_=Text)
    items = [func.coalesce(cast(func.to_json(_typed(part)), Text), literal("null", Text)) for part in parts]
    text: ColumnElement[str] = literal("[", Text) + items[0]
    for item in items[1:]:
        text = text + literal(",", Text) + item
    return text + literal("]", Text)


def data_bounds(conn: Connection, site_id: int) -> tuple[int | None, int | None]:
    """The first and last instant (UTC ms) of the site's raw rows (each bound an index lookup)."""
    bounds = [
        (visits.c.started_at, visits.c.site_id),
        (visits.c.ended_at, visits.c.site_id),
        (events.c.ts, events.c.site_id),
        (goal_completions.c.ts, goal_completions.c.site_id),
        (ecommerce_items.c.ts, ecommerce_items.c.site_id),
    ]
    found: list[int] = []
    for column, site in bounds:
        low, high = conn.execute(
            select(
                select(func.min(column)).where(site == site_id).scalar_subquery(),
                select(func.max(column)).where(site == site_id).scalar_subquery(),
            )
        ).one()
        found += [value for value in (low, high) if value is not None]
    return (min(found), max(found)) if found else (None, None)


def visit_dim_only(dim: Dim, v: Any) -> list[ColumnElement[bool]]:
    """The condition of the visits a dimension counts (keys.visit_dim_value not None), on the
    columns `v` of visits or site_visits."""
    if dim is Dim.CAMPAIGN:
        return [or_(v.utm_source.is_not(None), v.utm_medium.is_not(None), v.utm_campaign.is_not(None))]
    if dim is Dim.EXIT:
        return [v.exit_path.is_not(None)]
    return []


# -- scratch tables (temporary: per connection, gone with the transaction's end or the connection) --

scratch = MetaData()
ATTRIBUTE_COLUMNS = (*VISIT_ATTRIBUTES, "exit_path")

# The site's visits with their local start/end hour and day (hours since 1970-01-01 local) and what
# the visit counters need: read once, then grouped by every dimension without touching `visits`.
site_visits = Table(
    "rollup_rebuild_visits",
    scratch,
    Column("visitor_id", BigInteger, nullable=False),
    Column("started_at", BigInteger, nullable=False),
    Column("ended_at", BigInteger, nullable=False),
    Column("first_hour", BigInteger, nullable=False),
    Column("last_hour", BigInteger, nullable=False),
    Column("first_day", Integer, nullable=False),
    Column("last_day", Integer, nullable=False),
    Column("steady", Integer, nullable=False),  # 1: start and end in one offset segment
    Column("bounce", Integer, nullable=False),
    Column("duration", BigInteger, nullable=False),  # 0 for a bounce
    Column("pageviews", BigInteger, nullable=False),
    *(Column(name, Text, nullable=True) for name in ATTRIBUTE_COLUMNS),
    prefixes=["TEMPORARY"],
)

# Consecutive integers 0..N, to expand a visit's span into its days or hours.
numbers = Table(
    "rollup_rebuild_numbers", scratch, Column("k", Integer, primary_key=True), prefixes=["TEMPORARY"]
)

# The (local day, hour) marks of visits whose span crosses a UTC offset change (computed in Python
# with keys.span_hours: local time is not linear over them).
crossing_hours = Table(
    "rollup_rebuild_crossing_hours",
    scratch,
    Column("visitor_id", BigInteger, nullable=False),
    Column("day", Integer, nullable=False),
    Column("hour", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)

# The site's marks from clock.recent_day on, gathered from every dimension before they are written
# as one visitor_marks row per visitor.
recent_marks = Table(
    "rollup_rebuild_recent_marks",
    scratch,
    Column("visitor_id", BigInteger, nullable=False),
    Column("dim", Integer, nullable=False),
    Column("value", Text, nullable=False),
    Column("day", Integer, nullable=False),
    Column("n", BigInteger, nullable=False),
    prefixes=["TEMPORARY"],
)

# Pageviews per (local day, hour, pathname): one pass over the events for ALL, HOUR and PAGE.
page_hours = Table(
    "rollup_rebuild_page_hours",
    scratch,
    Column("day", Integer, nullable=False),
    Column("hour", Integer, nullable=False),
    Column("pathname", Text, nullable=False),
    Column("pageviews", BigInteger, nullable=False),
    Column("top_sum_ms", BigInteger, nullable=False),
    Column("top_count", BigInteger, nullable=False),
    prefixes=["TEMPORARY"],
)

# rollup_daily parts before they are merged by key (ALL gets visit and pageview counters).
COUNTERS = ROLLUP_COUNTERS
stage = Table(
    "rollup_rebuild_stage",
    scratch,
    Column("dim", Integer, nullable=False),
    Column("day", Integer, nullable=False),
    Column("value", Text, nullable=False),
    *(
        Column(name, Float if name == "revenue" else BigInteger, nullable=False, server_default="0")
        for name in COUNTERS
    ),
    prefixes=["TEMPORARY"],
)


def create_scratch(conn: Connection) -> None:
    scratch.drop_all(conn, checkfirst=True)
    scratch.create_all(conn)


def drop_scratch(conn: Connection) -> None:
    scratch.drop_all(conn, checkfirst=True)


def fill_site_visits(conn: Connection, clock: SiteClock) -> None:
    v = visits.c
    first, last = clock.hour_index(v.started_at), clock.hour_index(v.ended_at)
    bounce = case((and_(v.pageviews == 1, v.interactions == 0), 1), else_=0)
    rows = select(
        v.visitor_id,
        v.started_at,
        v.ended_at,
        first,
        last,
        clock.dialect.int_div(first, 24),
        clock.dialect.int_div(last, 24),
        case((clock.segment(v.started_at) == clock.segment(v.ended_at), 1), else_=0),
        bounce,
        case((bounce == 1, literal(0)), else_=v.ended_at - v.started_at),
        v.pageviews,
        *(v[name] for name in ATTRIBUTE_COLUMNS),
    ).where(v.site_id == clock.site_id)
    conn.execute(delete(site_visits))
    conn.execute(insert(site_visits).from_select([c.name for c in site_visits.columns], rows))
