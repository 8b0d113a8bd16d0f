"""`POST /api/v1/metrics/track` bodies (docs/ab-testing.md): validation, and the `PendingEvent` that carries
an A/B event through the one ingestion pipeline.

Each event type needs its data fields; any other key of `event_data` is dropped, so nothing the
statistics do not use is stored. Problems are (field, rule) pairs. The route answers the documented 400
for a missing field, an unknown event type or a value out of range, and 422 when a value has the
wrong JSON type or holds a NUL character (which no database column takes).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from analytics_mcp.experiments.identity import ScrollBand, scroll_band
from analytics_mcp.field_error import NUL_RULE, has_nul

MAX_BODY_BYTES = 8 * 1024
MAX_ID = 128  # session_id, visitor_id
MAX_VARIANT_ID = 2**31 - 1
MAX_AMOUNT_CENTS = 10**11

Problem = tuple[str, str]


class TrackError(ValueError):
    """Invalid input; `problems` lists (field, rule), the first one is the message. `status` is 422
    when a value was malformed (wrong JSON type, NUL character), else 400."""

    def __init__(self, problems: list[Problem], *, malformed: bool = False) -> None:
        self.problems = problems
        self.status = 422 if malformed else 400
        super().__init__(f"{problems[0][0]}: {problems[0][1]}")


class Malformed(ValueError):
    """A value of the wrong JSON type, or a string with a NUL character."""


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise Malformed("must be a string")
    if has_nul(value):
        raise Malformed(NUL_RULE)
    return value


def _text(limit: int) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not _string(value).strip():
            raise ValueError("must be a non-empty string")
        if len(value) > limit:
            raise ValueError(f"must be at most {limit} characters")
        return value.strip()

    return check


def _path(value: Any) -> str:
    clean = str(_text(2000)(value))
    if not clean.startswith("/"):
        raise ValueError("must be a path starting with '/'")
    return clean


def _depth(value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Malformed("must be a number from 0 to 100")
    if not math.isfinite(value):
        raise ValueError("must be a number from 0 to 100")
    if not 0 <= value <= 100:
        raise ValueError("must be between 0 and 100")
    return value


def _whole(value: Any) -> Any:
    """A JSON number with no fraction (`7.0` is the integer 7 in JSON) as an int."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _cents(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Malformed("must be a whole number of cents")
    value = _whole(value)
    if not isinstance(value, int):
        raise ValueError("must be a whole number of cents")
    if not 0 <= value <= MAX_AMOUNT_CENTS:
        raise ValueError(f"must be between 0 and {MAX_AMOUNT_CENTS}")
    return value


def _currency(value: Any) -> str:
    code = _string(value)
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise ValueError("must be a 3-letter currency code")
    return code.upper()


Check = Callable[[Any], Any]
ID_TEXT, LABEL, LONG_TEXT = _text(200), _text(100), _text(500)
# type -> (required fields, optional fields); every type may name the page `path` it happened on.
FIELDS: dict[str, tuple[dict[str, Check], dict[str, Check]]] = {
    "page_view": ({"path": _path}, {"referrer": _text(2000)}),
    "scroll_depth": ({"depth": _depth}, {"path": _path}),
    "click": ({"element_id": ID_TEXT}, {"element_text": LONG_TEXT, "path": _path}),
    "form_submit": ({"form_id": ID_TEXT}, {"path": _path}),
    "conversion": (
        {"plan_tier": LABEL, "amount_cents": _cents},
        {"billing_interval": LABEL, "stripe_session_id": _text(255), "currency": _currency, "path": _path},
    ),
    "download": ({"app_key": ID_TEXT, "platform": LABEL}, {"path": _path}),
}
EVENT_TYPES = tuple(FIELDS)


@dataclass(frozen=True, slots=True)
class TrackInput:
    variant_id: int
    event_type: str
    data: dict[str, Any]  # only the fields of FIELDS[event_type], cleaned
    session_id: str
    visitor_id: str

    @property
    def element(self) -> str | None:
        """What the per-element breakdowns group by (clicks: the CTA)."""
        for key in ("element_id", "form_id", "app_key"):
            if key in self.data:
                return str(self.data[key])
        return None

    @property
    def band(self) -> ScrollBand | None:
        return scroll_band(self.data["depth"]) if self.event_type == "scroll_depth" else None


def parse_track(raw: Any) -> TrackInput:
    """The validated body; TrackError lists every problem found (missing fields first)."""
    if not isinstance(raw, Mapping):
        raise TrackError([("body", "must be a JSON object")])
    problems: list[Problem] = []
    malformed: set[str] = set()
    variant_id = _variant_id(raw.get("variant_id"), problems, malformed)
    session_id = _client_id("session_id", raw.get("session_id"), problems, malformed)
    visitor_id = _client_id("visitor_id", raw.get("visitor_id"), problems, malformed)
    event_type = _event_type(raw.get("event_type"), problems, malformed)
    data = {} if event_type is None else _event_data(event_type, raw.get("event_data"), problems, malformed)
    if problems:
        raise TrackError(problems, malformed=bool(malformed))
    return TrackInput(variant_id, str(event_type), data, session_id, visitor_id)


def _checked(field: str, check: Check, value: Any, problems: list[Problem], malformed: set[str]) -> Any:
    """check(value), or None with the problem noted (and the field marked malformed if it is)."""
    try:
        return check(value)
    except ValueError as exc:
        problems.append((field, str(exc)))
        if isinstance(exc, Malformed):
            malformed.add(field)
        return None


def _event_type(value: Any, problems: list[Problem], malformed: set[str]) -> str | None:
    if value is None:
        problems.insert(0, ("event_type", "is required"))
        return None
    if _checked("event_type", _string, value, problems, malformed) is None:
        return None
    if value not in FIELDS:
        rule = f"unknown event type {value[:40]!r}; use one of {', '.join(EVENT_TYPES)}"
        problems.insert(0, ("event_type", rule))
        return None
    return str(value)


def _variant_id(value: Any, problems: list[Problem], malformed: set[str]) -> int:
    if value is None:
        problems.append(("variant_id", "is required"))
    elif isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(("variant_id", "must be an integer"))
        malformed.add("variant_id")
    elif not isinstance(_whole(value), int) or not 1 <= value <= MAX_VARIANT_ID:
        problems.append(("variant_id", "must be a positive whole number"))
    else:
        return int(value)
    return 0


def _client_id(field: str, value: Any, problems: list[Problem], malformed: set[str]) -> str:
    if value is None:
        problems.append((field, "is required"))
        return ""
    return str(_checked(field, _text(MAX_ID), value, problems, malformed) or "")


def _event_data(event_type: str, value: Any, problems: list[Problem], malformed: set[str]) -> dict[str, Any]:
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        problems.append(("event_data", "must be a JSON object"))
        malformed.add("event_data")
        return {}
    required, optional = FIELDS[event_type]
    clean: dict[str, Any] = {}
    missing = [f"event_data.{name}" for name in required if value.get(name) is None]
    problems[:0] = [(field, f"is required for {event_type} events") for field in missing]
    for name, check in (*required.items(), *optional.items()):
        if value.get(name) is not None:
            checked = _checked(f"event_data.{name}", check, value[name], problems, malformed)
            if checked is not None:
                clean[name] = checked
    return clean
