"""A fast path for plain batch events: the common line (a pageview or a custom event without
props, revenue, items or identity) becomes a PendingEvent without pydantic.

It only ever *accepts*: a line it is not certain `BatchEvent` would accept unchanged (another key,
another type, whitespace to strip, a bound crossed, a time out of the window, an address that does
not parse) gives None and goes through the model, so every refusal, and its message naming the
field and the rule, still comes from `BatchEvent` (tests/test_plain_batch.py compares both paths).
Per event the model cost about 10 us, this about 2 (docs/engine-performance.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Final, get_args

from analytics_mcp.ingest.event import PendingEvent
from analytics_mcp.ingest.wire import MAX_FUTURE_MS, MAX_PAST_MS, BatchEvent


def _constraints(key: str) -> list[Any]:
    """The constraints `BatchEvent` puts on a field: on the field itself, or inside the
    `Annotated[str, Field(...)]` of an optional one."""
    field = BatchEvent.model_fields[key]
    inner = [
        each
        for arg in get_args(field.annotation)
        for info in getattr(arg, "__metadata__", ())
        for each in getattr(info, "metadata", ())
    ]
    return [*field.metadata, *inner]


def _bound(key: str, name: str, default: int | None = None) -> int:
    """A constraint's value (pydantic's `MinLen.min_length`, `Le.le`, ...) on the field, else
    `default` (None: the field must have it)."""
    found = [getattr(c, name) for c in _constraints(key) if hasattr(c, name)]
    if found:
        return int(found[0])
    if default is None:
        raise LookupError(f"BatchEvent.{key} has no {name}")
    return default


def _string_bounds(key: str) -> tuple[int, int]:
    """(min, max) length of a string field; a field without a minimum allows the empty string."""
    return _bound(key, "min_length", 0), _bound(key, "max_length")


def _int_bound(key: str) -> int:
    """The maximum of an integer field whose minimum is 0 (the fast path checks both)."""
    if _bound(key, "ge") != 0:
        raise LookupError(f"BatchEvent.{key}: the fast path checks a minimum of 0")
    return _bound(key, "le")


# Every key the fast path reads, with its bounds as `BatchEvent` declares them (read from the
# model, so the two cannot drift); any other key (props, revenue, items, user_id, ...) goes
# through the model.
_STRINGS: Final = {key: _string_bounds(key) for key in ("name", "url", "domain", "ip", "user_agent")}
_OPTIONAL_STRINGS: Final = {key: _string_bounds(key) for key in ("referrer", "event_id", "language")}
_OPTIONAL_INTS: Final = {key: _int_bound(key) for key in ("engagement_ms", "scroll_depth")}
_KEYS: Final = frozenset({*_STRINGS, *_OPTIONAL_STRINGS, *_OPTIONAL_INTS, "timestamp", "interactive", "hash"})
# Names a model validator looks at (engagement needs engagement_ms, identify a user_id).
_MODEL_RULES: Final = frozenset({"engagement", "identify"})
_NOT_INTERACTIVE: Final = frozenset({"pageview", "engagement"})
# ISO 8601 as every sender writes it; pydantic reads more forms, which go through it.
_TIMESTAMP: Final = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,6})?(Z|[+-](?:0\d|1[0-4]):[0-5]\d)?")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def plain_event(raw: Any, now_ms: int, is_ip: Callable[[str], bool]) -> PendingEvent | None:
    """The PendingEvent `BatchEvent` plus `PendingEvent.from_wire` would give, or None when the
    line is not plain or not certainly valid (the caller then validates it with the model)."""
    if type(raw) is not dict or not _KEYS.issuperset(raw):
        return None
    get = raw.get
    for key, (low, high) in _STRINGS.items():
        if not _clean(get(key), low, high):
            return None
    for key, (low, high) in _OPTIONAL_STRINGS.items():
        value = get(key)
        if value is not None and not _clean(value, low, high):
            return None
    for key, high in _OPTIONAL_INTS.items():
        value = get(key)
        if value is not None and (type(value) is not int or not 0 <= value <= high):
            return None
    name, url = raw["name"], raw["url"]
    interactive, hash_routing = get("interactive"), get("hash", False)
    if name in _MODEL_RULES or not url.lower().startswith(("http://", "https://")):
        return None
    if (interactive is not None and type(interactive) is not bool) or type(hash_routing) is not bool:
        return None
    ts = _epoch_ms(get("timestamp"))
    if ts is None or not now_ms - MAX_PAST_MS <= ts <= now_ms + MAX_FUTURE_MS or not is_ip(raw["ip"]):
        return None
    if name in _NOT_INTERACTIVE:
        interactive = False
    elif interactive is None:
        interactive = True
    return PendingEvent(
        raw["domain"], name, url, get("referrer") or None, None, interactive, get("event_id"),
        None, None, None, None, get("engagement_ms"), get("scroll_depth"), get("language"),
        hash_routing, ts, raw["ip"], raw["user_agent"],
    )  # fmt: skip


def _clean(value: object, low: int, high: int) -> bool:
    """A string the model keeps as it is: within its bounds, no NUL, nothing to strip (Python's
    whitespace includes every character pydantic strips)."""
    return (
        type(value) is str
        and low <= len(value) <= high
        and len(value.strip()) == len(value)
        and "\x00" not in value
    )


def _epoch_ms(value: object) -> int | None:
    """As `validate_line` computes it from the parsed datetime (no zone: UTC):
    int(datetime.timestamp() * 1000), where timestamp() divides the microseconds since the epoch
    by 10**6 (exact integer division, rounded once, as here). A batch's times share their
    seconds and zones, so both are parsed once (cached)."""
    match = _TIMESTAMP.fullmatch(value) if type(value) is str else None
    if match is None:
        return None
    seconds, fraction, zone = match.groups()
    base = _utc_seconds(seconds, zone)
    if base is None:
        return None
    micros = int(fraction[1:].ljust(6, "0")) if fraction else 0
    return int((base * 1_000_000 + micros) / 1_000_000 * 1000)


@lru_cache(maxsize=4096)
def _utc_seconds(seconds: str, zone: str | None) -> int | None:
    """Seconds since the epoch of "YYYY-MM-DDTHH:MM:SS" in `zone` (None or "Z": UTC)."""
    try:
        moment = datetime.fromisoformat(seconds + ("+00:00" if zone in (None, "Z") else zone))
    except ValueError:
        return None
    return (moment - _EPOCH) // timedelta(seconds=1)
