"""A compact text rendering of an answer: the same numbers as the structured content, for clients
and chat loops that only show or forward text. Generic over the answer models: a header with the
range, the notes a reader needs (a partial day, the comparison range), one line of headline
metrics with their changes, then one small table per list. Definitions are not repeated here:
the answer names its glossary keys in the structured content."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from analytics_mcp.engine import ReportRange
from analytics_mcp.tools.answers import Section

SKIP = frozenset({"tenant", "definitions", "range", "comparison", "warnings", "truncated"})
COLUMNS_LEFT_OUT = frozenset({"id"})  # goal ids (ULIDs) serve the REST API, not a reader
COMPLETE_DAYS = {"7d": "last_7_complete_days", "30d": "last_30_complete_days", "90d": "last_90_complete_days"}
PERCENT_POINTS = frozenset({"bounce_rate_change", "conversion_rate_change"})


def fmt(name: str, value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name.endswith("_rate"):
        return f"{value}%"
    if name.endswith("duration"):
        return f"{value}s"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def fmt_change(name: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    unit = " pp" if name in PERCENT_POINTS else "%"
    return f"{value:+}{unit}"


def header(title: str, tenant: str, period: ReportRange) -> str:
    sites = ", ".join(period.sites) or "no sites"
    return f"{title} - tenant {tenant} - {sites} - {span(period)} ({period.period}, {period.timezone})"


def span(period: ReportRange) -> str:
    return f"{period.date_from} to {period.date_to}"


def partial_note(period: ReportRange, what: str = "") -> str | None:
    """A line saying the range is not over yet, and through when its data counts (local time)."""
    if not period.partial_day or period.data_through is None:
        return None
    unit = "hour" if period.interval == "hour" else "day"
    line = f"{what}partial {unit}: data through {period.data_through:%Y-%m-%d %H:%M}"
    whole = COMPLETE_DAYS.get(period.period)
    return line + (f"; whole days: period {whole}" if whole and not what else "")


def times(stamps: list[str]) -> str:
    """ISO UTC times, newest first, each date written once: '2026-12-06 23:12:48, 22:57:51 UTC'."""
    shown, last_day = [], ""
    for stamp in stamps:
        day, _, clock = stamp.rstrip("Z").partition("T")
        shown.append(clock if day == last_day else f"{day} {clock}")
        last_day = day
    return ", ".join(shown) + " UTC" if shown else ""


def range_notes(data: dict[str, Any]) -> list[str]:
    """The partial-day note and, for answers with a comparison, its range."""
    notes = [partial_note(data["range"])]
    compared: ReportRange | None = data.get("comparison")
    if compared is not None:
        notes.append(f"compared with {span(compared)} ({compared.period})")
        notes.append(partial_note(compared, "comparison: "))
    return [note for note in notes if note]


def headline(answer: BaseModel) -> str:
    data = dict(answer)
    parts = []
    for name, value in data.items():
        if name in SKIP or name.endswith("_change") or not isinstance(value, int | float | str | None):
            continue
        text = f"{name} {fmt(name, value)}"
        if f"{name}_change" in data:
            text += f" ({fmt_change(f'{name}_change', data[f'{name}_change'])})"
        parts.append(text)
    return " | ".join(parts)


def cell(row: Any, column: str) -> Any:
    """A row's value: rows are models, or plain objects (the breakdown's)."""
    return row[column] if isinstance(row, dict) else getattr(row, column)


def table(name: str, rows: list[Any], truncated: bool = False) -> list[str]:
    if not rows:
        return [f"{name}: none"]
    # A model's fields as it serializes them: a field left out when empty (hostname) is no column.
    first = rows[0].model_dump() if isinstance(rows[0], BaseModel) else dict(rows[0])
    columns = [c for c, v in first.items() if not isinstance(v, list) and c not in COLUMNS_LEFT_OUT]
    lines = [f"{name}:", " | ".join(columns)]
    lines += [" | ".join(fmt(c, cell(row, c)) for c in columns) for row in rows]
    if truncated:
        lines.append("(truncated: more rows exist; raise limit to see them)")
    return lines


def names(value: Any) -> bool:
    """A non-empty list of plain strings (domains): named in the header, not drawn as a table."""
    return isinstance(value, list) and bool(value) and all(isinstance(item, str) for item in value)


def render(title: str, answer: BaseModel, extra: list[str] | None = None) -> str:
    """Header, headline metrics, every list or section of rows as a table, then `extra` lines."""
    data = dict(answer)
    if "range" in data:
        lines = [header(title, data["tenant"], data["range"]), *range_notes(data)]
    elif names(data.get("sites")):  # a report without a range (realtime) names its sites
        lines = [f"{title} - tenant {data['tenant']} - {', '.join(data['sites']) or 'no sites'}"]
    else:
        lines = [f"{title} - tenant {data['tenant']}"]
    summary = headline(answer)
    if summary:
        lines.append(summary)
    for name, value in data.items():
        if isinstance(value, Section):
            lines += table(name, value.rows, value.truncated)
        elif isinstance(value, list) and name not in SKIP and not names(value):
            lines += table(name, value, bool(data.get("truncated")))
    lines += [f"warning: {text}" for text in data.get("warnings") or []]
    lines += extra or []
    return "\n".join(lines)
