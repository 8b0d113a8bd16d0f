"""Realtime: who is on the sites now (visitors with an event in the last five minutes), with the
pages they view and the sources they came from. "Now" is the query's `as_of` (the instant its
periods end at), so a test or a caller pins it like any period; the query's range is not used."""

from __future__ import annotations

from datetime import UTC, timedelta

from pydantic import BaseModel, Field

from analytics_mcp.engine.periods import ms_range
from analytics_mcp.engine.query import Query, reporting_now
from analytics_mcp.engine.store import source_for
from analytics_mcp.storage.clickhouse import EventsDatabase

WINDOW = timedelta(minutes=5)


class RealtimePage(BaseModel):
    pathname: str
    visitors: int = Field(description="Visitors with a pageview of this page in the window")


class RealtimeSource(BaseModel):
    source: str = Field(description='The source of the visit ("direct" without a referrer)')
    visitors: int


class Realtime(BaseModel):
    visitors: int = Field(description="Current visitors: distinct visitors with an event in the window")
    window_minutes: int = Field(description="The window's length in minutes, ending at `as_of`")
    as_of: str = Field(description="The window's end, ISO 8601 UTC")
    pages: list[RealtimePage] = Field(description="Top pages in the window, by visitors")
    sources: list[RealtimeSource] = Field(description="Top sources in the window, by visitors")


async def current_visitors(db: EventsDatabase, query: Query) -> Realtime:
    """Visitors with an event in the five minutes before the query's `as_of` (events at exactly
    `as_of - 5 min` count, events at `as_of` do not), with the top pages and sources among them
    (`limit` rows each). Sites and filters apply as in every report."""
    now = query.as_of or reporting_now()
    end_ms = int(now.timestamp() * 1000)
    window = ms_range(end_ms - int(WINDOW.total_seconds() * 1000), end_ms, query.zone)
    found = await source_for(db, query).current(window)
    limit = query.limit
    return Realtime(
        visitors=found.visitors,
        window_minutes=int(WINDOW.total_seconds() // 60),
        as_of=now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        pages=[RealtimePage(pathname=p, visitors=int(n)) for p, n in found.pages[:limit]],
        sources=[RealtimeSource(source=s, visitors=int(n)) for s, n in found.sources[:limit]],
    )
