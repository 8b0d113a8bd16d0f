"""Structured answers of the exploring tools (`realtime`, `custom-events`, `breakdown`): like
`tools.answers`, each extends the engine's result model and names the glossary entries it quotes."""

from __future__ import annotations

from pydantic import BaseModel, Field

from analytics_mcp.engine import Breakdown, CustomEventRow, EventProperty, Realtime
from analytics_mcp.tools.answers import ToolAnswer


class RealtimeAnswer(Realtime, ToolAnswer):
    definition_keys = ("current_visitors", "referrer_source")

    sites: list[str] = Field(description="Domains read")


class EventDetail(BaseModel):
    name: str = Field(description="The custom event asked for with `event`")
    events_with_properties: int = Field(description="Its events in range that carry properties")
    properties: list[EventProperty] = Field(description="Its property keys by events, each with top values")
    truncated: bool = Field(
        description="More keys existed than the limit, or more property sets than were read"
    )


class CustomEventsAnswer(Breakdown[CustomEventRow], ToolAnswer):
    definition_keys = ("period", "custom_events", "visitors", "event_properties", "truncated")

    event: EventDetail | None = Field(default=None, description="The properties of `event`, when asked")
