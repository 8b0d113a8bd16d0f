"""The plain-line fast path (ingest/plain_batch.py) over a whole batch at once, column by column.

A batch whose every line is plain (plain_batch's rules) is checked per field: each column's types,
bounds and characters in a few C calls (set, map, min/max, join), each distinct value (a batch
has few URLs, addresses and clients) once, every time by one regular expression over the joined
column; then the events are built with one `map`. If any line is not plain, or not certainly
valid, the answer is None and the caller takes each line on its own as before, so what is
accepted and every refusal stay exactly the per-line path's (tests/test_plain_columns.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from itertools import repeat
from typing import Any, Final

from analytics_mcp.ingest.event import ColumnBatch, PendingEvent
from analytics_mcp.ingest.plain_batch import (
    _EPOCH,
    _KEYS,
    _MODEL_RULES,
    _NOT_INTERACTIVE,
    _OPTIONAL_INTS,
    _OPTIONAL_STRINGS,
    _STRINGS,
    _TIMESTAMP,
)
from analytics_mcp.ingest.wire import MAX_FUTURE_MS, MAX_PAST_MS

_ONE: Final = _TIMESTAMP.pattern.replace("(", "(?:").replace("(?:?:", "(?:")
_TIMESTAMPS: Final = re.compile(f"(?:{_ONE}\n)*{_ONE}")
_SECOND: Final = timedelta(seconds=1)
# A dotted IPv4 address as `ipaddress` reads one: decimal octets up to 255, no leading zero
# (ASCII digits: Python's \d takes others). Many of them joined by newlines: one C call for a
# batch's addresses, where `ipaddress` took ~2 us each (a batch has about a thousand visitors).
_OCTET: Final = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4: Final = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_IPV4S: Final = re.compile(f"(?:{_IPV4}\n)*{_IPV4}")
# Columns with few distinct values in a batch (a site's pages, its visitors' clients).
FEW_VALUES: Final = ("domain", "name", "url", "referrer", "ip", "user_agent", "language")


def plain_events(lines: list[Any], now_ms: int, is_ip: Callable[[str], bool]) -> ColumnBatch | None:
    """What `plain_event` gives for each line, when it gives an event for every line; else None."""
    if not lines or set(map(type, lines)) != {dict} or not _KEYS.issuperset(set().union(*lines)):
        return None
    get = dict.get
    columns: dict[str, list[Any]] = {key: list(map(get, lines, repeat(key))) for key in _KEYS}
    columns["hash"] = list(map(get, lines, repeat("hash"), repeat(False)))
    return column_events(columns, now_ms, is_ip, prechecked=False)


def column_events(
    columns: dict[str, list[Any]], now_ms: int, is_ip: Callable[[str], bool], *, prechecked: bool
) -> ColumnBatch | None:
    """`plain_events` of the lines these columns come from: a value per line for each plain key,
    None where absent, `hash` False where absent. `prechecked`: from plain_arrow, where equal
    few-valued ones are one object already, the other strings are checked and `timestamp` holds
    epoch ms; else those are done here."""
    for key, (low, high) in _STRINGS.items():
        if not _clean_column(columns[key], low, high, optional=False):
            return None
    for key, (low, high) in _OPTIONAL_STRINGS.items():
        if (key in FEW_VALUES or not prechecked) and not _clean_column(
            columns[key], low, high, optional=True
        ):
            return None
    for key, high in _OPTIONAL_INTS.items():
        if not _int_column(columns[key], high):
            return None
    names, urls = columns["name"], set(columns["url"])
    web = ("http://", "https://")
    if not _MODEL_RULES.isdisjoint(names) or not all(u.lower().startswith(web) for u in urls):
        return None
    hashes = columns["hash"]
    if set(map(type, hashes)) != {bool}:
        return None
    interactive = _interactive(names, columns["interactive"])
    stamps = columns["timestamp"] if prechecked else _epoch_ms(columns["timestamp"])
    if interactive is None or stamps is None or not all_ips(set(columns["ip"]), is_ip):
        return None
    if not (now_ms - MAX_PAST_MS <= min(stamps) and max(stamps) <= now_ms + MAX_FUTURE_MS):
        return None
    if not prechecked:
        for key in FEW_VALUES:
            columns[key] = _shared(columns[key])
    referrers = [r or None for r in columns["referrer"]]
    nothing = repeat(None)
    events = map(
        PendingEvent,
        columns["domain"], names, columns["url"], referrers, nothing, interactive,
        columns["event_id"], nothing, nothing, nothing, nothing, columns["engagement_ms"],
        columns["scroll_depth"], columns["language"], hashes, stamps, columns["ip"],
        columns["user_agent"],
    )  # fmt: skip
    given: dict[str, Sequence[Any]] = {
        "domain": columns["domain"], "name": names, "url": columns["url"], "referrer": referrers,
        "interactive": interactive, "event_id": columns["event_id"],
        "engagement_ms": columns["engagement_ms"], "scroll_depth": columns["scroll_depth"],
        "language": columns["language"], "hash_routing": hashes, "ts": stamps,
        # Read by prepare_columns for the visitors; never spooled (spool/columns.py leaves them out).
        "ip": columns["ip"], "user_agent": columns["user_agent"],
    }  # fmt: skip
    return ColumnBatch(events, given)


def all_ips(values: set[str], is_ip: Callable[[str], bool]) -> bool:
    """`is_ip` of every value: when all are dotted IPv4 addresses, by one regular expression."""
    joined = "\n".join(values)
    if joined.count("\n") == len(values) - 1 and _IPV4S.fullmatch(joined) is not None:
        return True
    return all(map(is_ip, values))


def _shared(values: list[Any]) -> list[Any]:
    """Equal values as one object: the spool frame pickles each once (a reference after that),
    so the writer unpickles each once too, and later lookups hash each once."""
    first: dict[Any, Any] = {}
    return list(map(first.setdefault, values, values))


def _clean_column(values: list[Any], low: int, high: int, *, optional: bool) -> bool:
    """plain_batch._clean of every value (None allowed when optional), in C calls over the
    distinct values (a string equals no value of another type)."""
    try:
        distinct = set(values)
    except TypeError:  # a list or an object: not plain
        return False
    if optional:
        distinct.discard(None)
        if not distinct:
            return True
    if set(map(type, distinct)) != {str}:
        return False
    lengths = list(map(len, distinct))
    if min(lengths) < low or max(lengths) > high or "\x00" in "".join(distinct):
        return False
    return all(map(str.__eq__, map(str.strip, distinct), distinct))  # strip() keeps a clean one


def _int_column(values: list[Any], high: int) -> bool:
    """None, or an int (not a bool, not a float) in [0, high]: types first (in a set 2 == 2.0)."""
    present = [v for v in values if v is not None]
    return not present or (set(map(type, present)) == {int} and min(present) >= 0 and max(present) <= high)


def _interactive(names: list[str], given: list[Any]) -> list[bool] | None:
    """plain_event's rule: None when a value is not a boolean or absent."""
    if not set(map(type, given)) <= {bool, type(None)}:  # types first: in a set, 1 == True
        return None
    return [
        False if name in _NOT_INTERACTIVE else (True if value is None else value)
        for name, value in zip(names, given, strict=True)
    ]


def _epoch_ms(values: list[Any]) -> list[int] | None:
    """plain_batch._epoch_ms of every value (one regular expression over the column), or None."""
    if set(map(type, values)) != {str}:
        return None
    joined = "\n".join(values)
    if joined.count("\n") != len(values) - 1 or _TIMESTAMPS.fullmatch(joined) is None:
        return None
    try:
        moments = list(map(datetime.fromisoformat, values))
        return [int((moment - _EPOCH) / _SECOND * 1000) for moment in moments]
    except (ValueError, TypeError):  # an impossible date; a time without a zone (naive)
        return None
