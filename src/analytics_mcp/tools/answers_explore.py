"""Structured answers of the exploring tools (`realtime`, `custom-events`, `breakdown`): like
`tools.answers`, each extends the engine's result model and names the glossary entries it quotes."""

from __future__ import annotations

from pydantic import Field

from analytics_mcp.engine import Realtime
from analytics_mcp.tools.answers import ToolAnswer


class RealtimeAnswer(Realtime, ToolAnswer):
    definition_keys = ("current_visitors", "referrer_source")

    sites: list[str] = Field(description="Domains read")
