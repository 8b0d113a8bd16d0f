"""Token sizes of what a model reads from the MCP server: every tool's answer at 7d/30d/90d and the
`tools/list` answer (part of bench/mcp.py; run through it).

Tokens are estimated as characters / 4, rounded up: no tokenizer for Claude models is published
and tiktoken (OpenAI's BPE, not installed here) would count a different vocabulary anyway;
characters / 4 is the rule of thumb both vendors quote for English text. For JSON and tables the
true count is usually somewhat higher, so compare the figures with each other, not with a bill.

Per answer two sizes: `text`, the text block (what the in-dashboard chat forwards to the model,
and what most clients show it), and `json`, the structuredContent as compact JSON (clients that
forward structured output send this instead or as well).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from mcp import Client

PERIODS = ("7d", "30d", "90d")


@dataclass(frozen=True, slots=True)
class AnswerSize:
    tool: str
    period: str  # "-" for a tool without a period (list-sites, realtime)
    text_chars: int
    json_chars: int


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


async def answer_sizes(client: Client, tenant: str) -> list[AnswerSize]:
    """One call per tool and period (the tools' other arguments at their defaults)."""
    listed = (await client.list_tools()).tools
    sizes = []
    for tool in listed:
        takes_period = "period" in tool.input_schema.get("properties", {})
        for period in PERIODS if takes_period else ("-",):
            arguments = {"tenant": tenant} | ({"period": period} if takes_period else {})
            result = await client.call_tool(tool.name, arguments)
            text = "\n".join(block.text for block in result.content if block.type == "text")
            if result.is_error:
                raise SystemExit(f"{tool.name} {period}: {text}")
            sizes.append(AnswerSize(tool.name, period, len(text), len(compact(result.structured_content))))
    return sizes


async def tools_list_size(client: Client) -> tuple[int, dict[str, int]]:
    """Characters of the whole tools/list result as sent (camelCase JSON), and per tool."""
    result = await client.list_tools()
    per_tool = {
        tool.name: len(tool.model_dump_json(by_alias=True, exclude_none=True)) for tool in result.tools
    }
    return len(result.model_dump_json(by_alias=True, exclude_none=True)), per_tool


def token_report(sizes: list[AnswerSize], listing: tuple[int, dict[str, int]]) -> None:
    print("tokens per answer (characters / 4, rounded up): text block | structuredContent JSON")
    print(f"{'tool':<20} " + " ".join(f"{p:>15}" for p in PERIODS))
    by_tool: dict[str, dict[str, AnswerSize]] = {}
    for size in sizes:
        by_tool.setdefault(size.tool, {})[size.period] = size
    for tool, periods in by_tool.items():
        cells = []
        for period in PERIODS:
            size = periods.get(period) or periods.get("-")
            cells.append(f"{tokens_pair(size):>15}" if size else f"{'':>15}")
        print(f"{tool:<20} " + " ".join(cells))
    text_total = sum(tokens_pair_values(s)[0] for s in sizes if s.period in ("30d", "-"))
    json_total = sum(tokens_pair_values(s)[1] for s in sizes if s.period in ("30d", "-"))
    print(f"all tools once at 30d: text {text_total:,} tokens, JSON {json_total:,} tokens")
    total, per_tool = listing
    print(f"tools/list: {total:,} characters (~{tokens_of_chars(total):,} tokens)")
    largest = sorted(per_tool.items(), key=lambda item: -item[1])[:5]
    print("largest tools in tools/list: " + ", ".join(f"{name} {chars:,}" for name, chars in largest))


def tokens_of_chars(chars: int) -> int:
    return math.ceil(chars / 4)


def tokens_pair_values(size: AnswerSize) -> tuple[int, int]:
    return tokens_of_chars(size.text_chars), tokens_of_chars(size.json_chars)


def tokens_pair(size: AnswerSize) -> str:
    text, structured = tokens_pair_values(size)
    return f"{text:,} | {structured:,}"
