"""Schema pieces the /api/v1 params models share, so the OpenAPI document states the rules the
engine enforces: a date's form and bounds, and the two rules of a date range JSON Schema cannot
express between two parameters (`x-date-range`: `from` not after `to`, at most N days).

    class Params(BaseModel):
        model_config = ConfigDict(json_schema_extra=date_range("from", "to", together=True))
        from_: str | None = Field(None, alias="from", json_schema_extra=DATE)
"""

from __future__ import annotations

from typing import Any

from analytics_mcp.engine import MAX_RANGE_DAYS
from analytics_mcp.engine.filters import DIMENSIONS, MAX_FILTERS, MAX_VALUES
from analytics_mcp.storage.account_rules import SLUG_RE

# YYYY-MM-DD from 1971-01-01 to 9990-12-31 (the engine's MIN_DATE and MAX_DATE).
DATE_PATTERN = (
    r"^(?:197[1-9]|19[89][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|9990)"
    r"-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$"
)
DATE: dict[str, Any] = {"format": "date", "pattern": DATE_PATTERN}
NO_NUL_PATTERN = "^[^\\u0000]*$"  # every input string: no database column takes a NUL
# Whitespace as both Python's str.strip() (which the server uses) and JSON Schema's (ECMA) \s see
# it, and characters neither takes for whitespace: a pattern built from these means one thing.
BLANK = "[\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
INK = "\\s\\u001c-\\u001f\\u0085\\u0000"  # inside [^...]: neither whitespace nor NUL
NON_BLANK_PATTERN = f"^[^\\u0000]*[^{INK}][^\\u0000]*$"  # some non-space character, no NUL
SLUG: dict[str, Any] = {"pattern": SLUG_RE.pattern}  # documents the slug rule the store enforces
DATE_RANGE = "x-date-range"
# The overviews' comparison (engine/periods.py): compare_from/compare_to together, in order, at
# most MAX_RANGE_DAYS days, and only with compare omitted or custom; compare=custom needs them.
COMPARE_RULE = "x-compare"
# The timeseries interval (engine/periods.py): hour only for 24h or a from/to of at most
# `hourMaxDays` days, and 24h only with hour (or no interval).
INTERVAL_X = "x-interval"


def _filters_pattern() -> str:
    """The REST filter syntax the engine parses, `dimension==a|b;dimension!=c;dimension~d`: known
    dimensions, at most 20 filters of at most 20 non-blank values without `;` or `|` (blanks
    around them are dropped); or nothing. The values' length (at most 500 characters) is left to
    the description: bounding it here too makes a regex too large for most engines."""
    value = f"{BLANK}*[^;|{INK}](?:[^;|\\u0000]*[^;|{INK}])?{BLANK}*"
    one = f"{BLANK}*(?:{'|'.join(DIMENSIONS)}){BLANK}*(?:==|!=|~){value}(?:\\|{value}){{0,{MAX_VALUES - 1}}}"
    return f"^(?:{BLANK}*|{one}(?:;{one}){{0,{MAX_FILTERS - 1}}})$"


FILTERS: dict[str, Any] = {"pattern": _filters_pattern()}


def date_range(start: str, end: str, *, together: bool) -> dict[str, Any]:
    """A params model's schema extra: `start` must not be after `end`, the range is at most
    MAX_RANGE_DAYS days; `together`: each needs the other (dependentRequired)."""
    extra: dict[str, Any] = {DATE_RANGE: {"from": start, "to": end, "maxDays": MAX_RANGE_DAYS}}
    if together:
        extra["dependentRequired"] = {start: [end], end: [start]}
    return extra
