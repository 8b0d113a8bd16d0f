"""Filters: parsed from the REST syntax or a JSON list, validated and normalised once.

REST syntax: `page==/pricing;source!=google|bing;utm_campaign~spring` (`==` is, `!=` is not,
`~` contains, ignoring the case of A-Z; `|` separates alternative values; `;` separates
filters). The same filters as a JSON list:
`[{"dimension": "page", "operator": "is", "values": ["/pricing"]}]`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from analytics_mcp.engine.errors import QueryError

Operator = Literal["is", "is_not", "contains"]

# Dimension -> visits column. `page` is the only event-level dimension (pageview paths).
VISIT_DIMENSIONS: dict[str, str] = {
    "entry_page": "entry_path",
    "exit_page": "exit_path",
    "source": "source",
    "referrer": "referrer",
    "channel": "channel",
    "device": "device_type",
    "browser": "browser",
    "os": "os",
    "language": "language",
    "country": "country",
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
    "utm_content": "utm_content",
    "utm_term": "utm_term",
}
PAGE_DIMENSION = "page"
DIMENSIONS: tuple[str, ...] = (PAGE_DIMENSION, *VISIT_DIMENSIONS)

# Stored normalised at ingestion, so `is` values are normalised the same way before comparing.
_LOWER_CASE = frozenset({"source", "channel", "device", "language", "referrer"})
_UPPER_CASE = frozenset({"country"})

MAX_FILTERS = 20
MAX_VALUES = 20
MAX_VALUE_LENGTH = 500
_SYNTAX = re.compile(r"^\s*([a-z_]+)\s*(==|!=|~)(.*)$", re.DOTALL)
_OPERATORS: dict[str, Operator] = {"==": "is", "!=": "is_not", "~": "contains"}


class Filter(BaseModel):
    """One condition: `dimension` `operator` any of `values`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dimension: str
    operator: Operator
    values: tuple[str, ...]

    @property
    def is_page(self) -> bool:
        return self.dimension == PAGE_DIMENSION


FilterInput = str | Sequence[Filter | Mapping[str, Any]] | None


def parse_filters(raw: FilterInput) -> tuple[Filter, ...]:
    """Filters from the REST string, a JSON list (as text or objects), or None."""
    if raw is None:
        return ()
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return ()
        items: Sequence[Any] = _from_json(text) if text.startswith("[") else _from_syntax(text)
    else:
        items = raw
    if len(items) > MAX_FILTERS:
        raise QueryError("filters", f"at most {MAX_FILTERS} filters")
    return tuple(_normalise(_as_filter(item)) for item in items)


def _from_json(text: str) -> list[Any]:
    try:
        items = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise QueryError("filters", "invalid JSON") from exc
    if not isinstance(items, list):
        raise QueryError("filters", "must be a JSON list of filter objects")
    return items


def _from_syntax(text: str) -> list[Filter]:
    out = []
    for part in (p for p in text.split(";") if p.strip()):
        match = _SYNTAX.match(part)
        if match is None:
            raise QueryError("filters", f"cannot parse {part.strip()!r}: use dimension==value, != or ~")
        dimension, op, values = match.groups()
        out.append(Filter(dimension=dimension, operator=_OPERATORS[op], values=tuple(values.split("|"))))
    return out


def _as_filter(item: Any) -> Filter:
    if isinstance(item, Filter):
        return item
    if not isinstance(item, Mapping):
        raise QueryError("filters", "each filter must be an object with dimension, operator and values")
    data = dict(item)
    if isinstance(data.get("values"), str):
        data["values"] = [data["values"]]
    try:
        return Filter.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise QueryError("filters", f"{where}: {first['msg']}") from exc


def _normalise(flt: Filter) -> Filter:
    if flt.dimension not in DIMENSIONS:
        raise QueryError(
            "filters", f"unknown dimension {flt.dimension!r}; use one of {', '.join(DIMENSIONS)}"
        )
    values = tuple(dict.fromkeys(v.strip() for v in flt.values))
    if not values or any(not v for v in values):
        raise QueryError("filters", f"{flt.dimension}: empty value")
    if len(values) > MAX_VALUES or any(len(v) > MAX_VALUE_LENGTH for v in values):
        raise QueryError(
            "filters", f"{flt.dimension}: at most {MAX_VALUES} values of {MAX_VALUE_LENGTH} chars"
        )
    if flt.operator != "contains":
        if flt.dimension in _LOWER_CASE:
            values = tuple(v.lower() for v in values)
        elif flt.dimension in _UPPER_CASE:
            values = tuple(v.upper() for v in values)
    return Filter(dimension=flt.dimension, operator=flt.operator, values=values)
