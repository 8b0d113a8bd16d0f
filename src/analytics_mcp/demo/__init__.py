"""Demo data: realistic synthetic traffic (`generate_events`) and the `analytics-mcp demo` command
(`run_demo`)."""

from __future__ import annotations

from analytics_mcp.demo.run import run_demo
from analytics_mcp.demo.traffic import generate_events

__all__ = ["generate_events", "run_demo"]
