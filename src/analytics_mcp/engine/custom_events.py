"""Custom events: the event names other than pageviews, engagement and the e-commerce events,
counted in range over the visits that pass the filters (as goals count), and for one event the
keys of its properties with their most frequent values."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import orjson
from pydantic import BaseModel, Field

from analytics_mcp.engine.breakdowns import shaped
from analytics_mcp.engine.query import Query
from analytics_mcp.engine.results import Breakdown, Report, ReportRange
from analytics_mcp.engine.store import source_for
from analytics_mcp.storage.clickhouse import EventsDatabase

PROPS_SCANNED = 1000  # distinct property sets of one event read; more set `truncated`


class CustomEventRow(BaseModel):
    name: str = Field(description="The custom event's name as the tracker sent it")
    events: int = Field(description="Events with this name in range")
    visitors: int = Field(description="Unique visitors who sent it in range")


class PropertyValue(BaseModel):
    value: str | None = Field(description="The value as JSON text would show it (strings bare)")
    events: int = Field(description="Events carrying this value")


class EventProperty(BaseModel):
    key: str
    events: int = Field(description="Events carrying this key")
    values: list[PropertyValue] = Field(description="Most frequent values, by events")
    truncated: bool = Field(description="More values existed than the limit")


class EventProperties(Report):
    name: str = Field(description="The custom event")
    events_with_properties: int = Field(description="Events of this name that carry properties")
    properties: list[EventProperty] = Field(description="Its property keys, by events")
    truncated: bool = Field(
        description="More keys existed than the limit, or more distinct property sets than were read"
    )


async def custom_events(db: EventsDatabase, query: Query) -> Breakdown[CustomEventRow]:
    """Custom event names with their events and unique visitors, by events."""
    rows = await source_for(db, query).custom_events()
    return shaped(
        query, rows, CustomEventRow, lambda r: CustomEventRow(name=r[0], events=r[1], visitors=r[2])
    )


def text_of(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()  # true, 3, 2.5: as JSON writes them


async def event_properties(db: EventsDatabase, query: Query, name: str) -> EventProperties:
    """The property keys of the custom event `name` (by the events carrying them) with each key's
    `limit` most frequent values, from up to PROPS_SCANNED distinct property sets."""
    sets = await source_for(db, query).event_props(name, PROPS_SCANNED)
    per_key: dict[str, Counter[str | None]] = defaultdict(Counter)
    total = 0
    for text, events in sets[:PROPS_SCANNED]:
        total += int(events)
        props = orjson.loads(text)
        for key, value in props.items() if isinstance(props, dict) else ():
            per_key[key][text_of(value)] += int(events)
    keys = sorted(per_key, key=lambda k: (-sum(per_key[k].values()), k))
    properties = [property_of(key, per_key[key], query.limit) for key in keys[: query.limit]]
    truncated = len(keys) > query.limit or len(sets) > PROPS_SCANNED
    return EventProperties(
        range=ReportRange.of(query),
        name=name,
        events_with_properties=total,
        properties=properties,
        truncated=truncated,
    )


def property_of(key: str, counts: Counter[str | None], limit: int) -> EventProperty:
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0] is not None, item[0] or ""))
    values = [PropertyValue(value=value, events=n) for value, n in ordered[:limit]]
    return EventProperty(key=key, events=sum(counts.values()), values=values, truncated=len(ordered) > limit)
