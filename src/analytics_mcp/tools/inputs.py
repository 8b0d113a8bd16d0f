"""A tool call's arguments checked against the tool's inputSchema before the tool runs, with one
line per refusal in our error vocabulary (`field: rule`), never a pydantic dump:

    unknown argument 'filter'; accepted: tenant, period, domain, from, to, limit, filters
    period: must be one of 24h, 7d, 30d, 90d, 12m
    limit: must be between 1 and 100
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcp.server.mcpserver.tools import Tool
from pydantic import ValidationError
from pydantic_core import ErrorDetails

DATE_RULE = "must be a valid date as YYYY-MM-DD"  # the engine's words (engine/periods.py)
RANGE_ERRORS = frozenset({"greater_than_equal", "less_than_equal", "greater_than", "less_than"})
NUMBER_ERRORS = frozenset({"int_type", "int_parsing", "int_from_float", "bool_type", "int_parsing_size"})


def accepted(tool: Tool) -> list[str]:
    """The argument names the tool's inputSchema lists, in its order."""
    return list(tool.parameters.get("properties", {}))


def unknown_arguments(tool: Tool, arguments: Mapping[str, Any]) -> str | None:
    names = accepted(tool)
    unknown = [name for name in arguments if name not in names]
    if not unknown:
        return None
    listed = ", ".join(repr(str(name)) for name in unknown)
    noun = "argument" if len(unknown) == 1 else "arguments"
    return f"unknown {noun} {listed}; accepted: {', '.join(names)}"


def argument_problem(tool: Tool, arguments: Mapping[str, Any]) -> str | None:
    """None when the arguments are ones the tool takes and validate; else one line naming the
    first problem."""
    problem = unknown_arguments(tool, arguments)
    if problem is not None:
        return problem
    try:
        tool.fn_metadata.validate_arguments(dict(arguments))
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        return rule_for(tool.parameters, errors[0]) if errors else "invalid arguments"
    return None


def _bound(prop: Mapping[str, Any], key: str) -> Any:
    if key in prop:
        return prop[key]
    for option in prop.get("anyOf", ()):
        if key in option:
            return option[key]
    return None


def rule_for(schema: Mapping[str, Any], error: ErrorDetails) -> str:
    """`field: rule` for one pydantic error, worded from the field's schema."""
    loc = error.get("loc") or ()
    field = str(loc[0]) if loc else "arguments"
    prop: Mapping[str, Any] = schema.get("properties", {}).get(field, {})
    kind = error.get("type", "")
    if kind == "missing":
        return f"{field}: required"
    if _bound(prop, "format") == "date":
        return f"{field}: {DATE_RULE}"
    choices = _bound(prop, "enum")
    if choices:
        return f"{field}: must be one of {', '.join(str(c) for c in choices)}"
    low, high = _bound(prop, "minimum"), _bound(prop, "maximum")
    if low is not None and high is not None and (kind in RANGE_ERRORS or kind in NUMBER_ERRORS):
        prefix = "must be an integer" if kind in NUMBER_ERRORS else "must be"
        return f"{field}: {prefix} between {low} and {high}"
    if kind == "string_too_long":
        return f"{field}: at most {_bound(prop, 'maxLength')} characters"
    if kind == "string_too_short":
        return f"{field}: must not be empty"
    if kind == "string_type":
        return f"{field}: must be a string"
    message = " ".join(str(error.get("msg", "is invalid")).split())
    return f"{field}: {message[:1].lower()}{message[1:]}"
