"""The vocabulary of the rollup tables: dimensions, value encoding and local days.

Rollups are keyed by the site's own time zone: `day` is the local date as days since 1970-01-01,
`hour` the local hour of day. A dimension value is the JSON array of the raw columns it groups by
(`["google","www.google.com"]`, `["direct",null]`, `["/pricing"]`), so None survives the round trip
and a multi-column key stays one column.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import IntEnum
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import orjson

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_SLOT_MS = 15 * 60 * 1000  # every real UTC offset change of our era falls on a 15-minute boundary


class Dim(IntEnum):
    """Stable codes stored in the tables: never renumber, only append."""

    ALL = 0  # value []: visit counters by start day, pageviews by event day, visitors by event day
    HOUR = 1  # [local hour 0-23]: pageviews and visitors by event time
    PAGE = 2  # [pathname]: pageviews, time on page, visitors (pageviews only)
    SOURCE = 3  # [source, referrer]
    CHANNEL = 4  # [channel]
    DEVICE = 5  # [device_type]
    BROWSER = 6  # [browser]
    OS = 7  # [os]
    LANGUAGE = 8  # [language]
    CAMPAIGN = 9  # [utm_source, utm_medium, utm_campaign], visits with any of the three only
    ENTRY = 10  # [entry_path]
    EXIT = 11  # [exit_path], visits with an exit path only
    GOAL = 12  # [goal_id]: completions (count) and converting visitors
    PURCHASE = 13  # [currency]: transactions (count) and revenue of purchases
    BUYERS = 14  # []: purchasing visitors (marks only)
    SOURCE_REVENUE = 15  # [source, currency]: purchases (count) and revenue by the visit's source
    ITEM = 16  # [item_name, currency]: purchased items' revenue, quantity, orders (count)
    ITEM_EVENTS = 17  # [currency]: purchases that carry items (count)
    COUNTRY = 18  # [country]


# Visit attributes counted by visit start: dim -> the visits columns of its value.
VISIT_DIM_COLUMNS: dict[Dim, tuple[str, ...]] = {
    Dim.SOURCE: ("source", "referrer"),
    Dim.CHANNEL: ("channel",),
    Dim.DEVICE: ("device_type",),
    Dim.BROWSER: ("browser",),
    Dim.OS: ("os",),
    Dim.LANGUAGE: ("language",),
    Dim.COUNTRY: ("country",),
    Dim.CAMPAIGN: ("utm_source", "utm_medium", "utm_campaign"),
    Dim.ENTRY: ("entry_path",),
    Dim.EXIT: ("exit_path",),
}
# The visit columns the dimensions group by that the first event fixes (exit_path changes).
VISIT_ATTRIBUTES = tuple(sorted({c for cols in VISIT_DIM_COLUMNS.values() for c in cols} - {"exit_path"}))
NO_VALUE = "[]"
# The e-commerce funnel: event names in order, with their labels.
FUNNEL_STEPS: tuple[tuple[str, str], ...] = (
    ("view_item", "View Product"),
    ("add_to_cart", "Add to Cart"),
    ("begin_checkout", "Begin Checkout"),
    ("purchase", "Purchase"),
)
FUNNEL_STEP_OF = {name: index for index, (name, _) in enumerate(FUNNEL_STEPS)}


def encode(*parts: Any) -> str:
    return _encoded(parts)


@lru_cache(maxsize=65536)  # the writer encodes the same few thousand values over and over
def _encoded(parts: tuple[Any, ...]) -> str:
    return orjson.dumps(parts).decode()


def decode(value: str) -> list[Any]:
    parts: list[Any] = orjson.loads(value)  # encode() writes a JSON array
    return parts


def visit_dim_value(dim: Dim, attributes: dict[str, Any]) -> str | None:
    """The value a visit with these attributes counts under, or None when it is left out."""
    parts = tuple(attributes.get(column) for column in VISIT_DIM_COLUMNS[dim])
    if dim is Dim.CAMPAIGN and parts == (None, None, None):
        return None
    if dim is Dim.EXIT and parts[0] is None:
        return None
    return _encoded(parts)


def day_number(day: date) -> int:
    return day.toordinal() - EPOCH_ORDINAL


def date_of(day: int) -> date:
    return date.fromordinal(day + EPOCH_ORDINAL)


def _local_exact(zone: ZoneInfo, ts_ms: int) -> tuple[int, int]:
    moment = datetime.fromtimestamp(ts_ms / 1000, UTC).astimezone(zone)
    return moment.toordinal() - EPOCH_ORDINAL, moment.hour


@lru_cache(maxsize=65536)
def _slot(zone: ZoneInfo, slot: int) -> tuple[int, int] | None:
    """(day, hour) shared by the whole 15-minute slot, or None if an offset change splits it."""
    start = slot * _SLOT_MS
    first, last = _local_exact(zone, start), _local_exact(zone, start + _SLOT_MS - 1)
    return first if first == last else None


def local_day_hour(zone: ZoneInfo, ts_ms: int) -> tuple[int, int]:
    """(local day number, local hour) of an instant; cached per 15-minute slot."""
    shared = _slot(zone, ts_ms // _SLOT_MS)
    return shared if shared is not None else _local_exact(zone, ts_ms)


def local_day(zone: ZoneInfo, ts_ms: int) -> int:
    return local_day_hour(zone, ts_ms)[0]


def span_days(zone: ZoneInfo, start_ms: int, end_ms: int) -> range:
    """The local days with an event of a visit spanning [start, end]: all of them, since its
    events are under 30 minutes apart."""
    return range(local_day(zone, start_ms), local_day(zone, end_ms) + 1)


def span_hours(zone: ZoneInfo, start_ms: int, end_ms: int) -> set[tuple[int, int]]:
    """The (local day, local hour) pairs of a visit spanning [start, end]: every local hour it
    touches has an event (gaps are under 30 minutes, a local hour is 60)."""
    found = {local_day_hour(zone, start_ms), local_day_hour(zone, end_ms)}
    slot = start_ms // _SLOT_MS + 1
    while slot * _SLOT_MS <= end_ms:
        found.add(local_day_hour(zone, slot * _SLOT_MS))
        slot += 1
    return found
