"""The one list of tools. The HTTP endpoint, stdio and the in-process chat all serve this list
through `build_mcp_server`; nothing registers a tool anywhere else."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver.tools import Tool
from mcp.types import ToolAnnotations

from analytics_mcp.tools import breakdown, commerce, experiments, live, segments, sites, timing, traffic
from analytics_mcp.tools.lean_schema import without_titles


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    title: str
    fn: Callable[..., Awaitable[Any]]


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec("list-sites", "List sites", sites.list_sites),
    ToolSpec("analytics-overview", "Traffic overview", traffic.analytics_overview),
    ToolSpec("top-pages", "Top pages", traffic.top_pages),
    ToolSpec("traffic-sources", "Traffic sources", traffic.traffic_sources),
    ToolSpec("device-and-browser", "Devices, browsers and operating systems", traffic.device_and_browser),
    ToolSpec("languages", "Visitor languages", traffic.languages),
    ToolSpec("campaigns", "UTM campaigns", traffic.campaigns),
    ToolSpec("goals", "Goals and conversions", commerce.goals),
    ToolSpec("ecommerce-overview", "E-commerce overview", commerce.ecommerce_overview),
    ToolSpec("ecommerce-products", "Products, funnel and revenue by source", commerce.ecommerce_products),
    ToolSpec("daily-breakdown", "Daily visitors and pageviews", timing.daily_breakdown),
    ToolSpec("hourly-breakdown", "Visitors by hour of day", timing.hourly_breakdown),
    ToolSpec("realtime", "Current visitors", live.realtime),
    ToolSpec("custom-events", "Custom events and their properties", live.custom_events),
    ToolSpec("breakdown", "Breakdown by one or two dimensions", breakdown.breakdown),
    # Beyond the twelve analytics tools (docs/mcp.md): A/B testing (docs/ab-testing.md).
    ToolSpec("ab-test-results", "A/B test results", experiments.ab_test_results),
    # Platform analytics (docs/platform.md): customer segments.
    ToolSpec("segments", "Customer segments and their trend", segments.segments),
    ToolSpec("segment-overlap", "Overlap between segments", segments.segment_overlap),
)
TOOL_NAMES: tuple[str, ...] = tuple(spec.name for spec in TOOLS)


def tool_annotations(title: str) -> ToolAnnotations:
    # Every tool only reads our own database: read-only, idempotent, closed world.
    return ToolAnnotations(
        title=title, read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
    )


def description(fn: Callable[..., Any]) -> str:
    """The docstring with its source line wrapping undone (paragraphs kept)."""
    paragraphs = inspect.cleandoc(fn.__doc__ or "").split("\n\n")
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)


def build_tools() -> list[Tool]:
    """The tools as the SDK serves them, each inputSchema closed (`additionalProperties: false`):
    `tools.gate` refuses an argument the schema does not name before the tool runs. Both schemas
    leave out pydantic's field titles (`tools.lean_schema`). Built once per process (pydantic's
    models and schemas cost ~60 ms of CPU a build): a Tool holds only a module-level function and
    its schemas, so every server (each app, stdio) shares them."""
    return list(_built_tools())


@functools.cache
def _built_tools() -> tuple[Tool, ...]:
    tools = []
    for spec in TOOLS:
        tool = Tool.from_function(
            spec.fn,
            name=spec.name,
            title=spec.title,
            description=description(spec.fn),
            annotations=tool_annotations(spec.title),
            structured_output=True,
        )
        tool.parameters = {**without_titles(tool.parameters), "additionalProperties": False}
        tool.fn_metadata.output_schema = without_titles(tool.fn_metadata.output_schema)
        tools.append(tool)
    return tuple(tools)
