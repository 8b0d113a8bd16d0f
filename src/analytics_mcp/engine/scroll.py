"""Scroll depth: how far down each page visitors scrolled, from the tracker's engagement reports
(the deepest point of a pageview, 0-100 %, stored on the pageview)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from analytics_mcp.engine.breakdowns import shaped
from analytics_mcp.engine.query import Query
from analytics_mcp.engine.results import Breakdown
from analytics_mcp.engine.store import source_for
from analytics_mcp.storage.clickhouse import EventsDatabase


class ScrollRow(BaseModel):
    pathname: str
    pageviews: int = Field(description="Pageviews of this path with a scroll report")
    scroll_depth: int = Field(description="Mean deepest scroll of those pageviews, % of the page (0-100)")


async def scroll_depth(db: EventsDatabase, query: Query) -> Breakdown[ScrollRow]:
    """Pages by their pageviews with a scroll report, with the mean scroll depth (whole %,
    rounded half up in Python so every database gives the same number)."""

    def row(r: Any) -> ScrollRow:
        reports, total = int(r[1]), int(r[2])
        depth = (2 * total + reports) // (2 * reports)
        return ScrollRow(pathname=r[0], pageviews=reports, scroll_depth=depth)

    return shaped(query, await source_for(db, query).scroll_depth(), ScrollRow, row)
