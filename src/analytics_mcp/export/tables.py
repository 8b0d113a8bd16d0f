"""The one definition of every exported table: its columns, their types and nullability.

The JSONL keys, the CSV header, the BigQuery and Power BI schemas and the Power Query script are
all derived from `TABLES`, so they cannot drift apart. Column order is the order of JSONL keys and
CSV columns; the documented columns come first, in their documented order (docs/api.md, "Field
names"). Pageviews then have the event's own columns, then the visit's (from `session_hash` to
`site`, equal for all pageviews of a visit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["string", "int", "float", "bool", "timestamp", "json", "records"]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind
    nullable: bool = False
    description: str = ""
    fields: tuple[Column, ...] = ()  # the record's columns, for kind "records" (a list of objects)


@dataclass(frozen=True, slots=True)
class Table:
    name: str  # as in schemas and the Power Query script: pageviews, goal_completions, ...
    path: str  # the URL segment under /export/
    columns: tuple[Column, ...]
    paged: bool = True  # takes from / to / cursor / limit

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)


def _s(name: str, description: str, nullable: bool = False) -> Column:
    return Column(name, "string", nullable, description)


ID = _s("id", "Row id (ULID, sortable by time); pass the last one as `cursor` for the next page")
VISITOR = _s("visitor_hash", "Daily-salted visitor hash, 16 hex digits (one person = one per day per site)")
SESSION = _s("session_hash", "Opaque visit (session) id, 16 hex digits")
CREATED = Column("created_at", "timestamp", description="Event time, ISO 8601 UTC")
SITE = _s("site", "The site's domain")
_VISIT = "; the visit's, from its first event"

PAGEVIEWS = Table(
    "pageviews",
    "pageviews",
    (
        ID,
        VISITOR,
        _s("hostname", "Host of the page URL"),
        _s("pathname", "Path of the page URL, without query string"),
        _s("device_type", "desktop, mobile or tablet" + _VISIT),
        Column(
            "duration",
            "int",
            nullable=True,
            description="Time on page in whole seconds: engaged time reported by the tracker, else "
            "the time to the visit's next pageview; null when unknown (last pageview, no report)",
        ),
        CREATED,
        Column("scroll_depth", "int", nullable=True, description="Maximum scroll depth in %"),
        Column("props", "json", nullable=True, description="Custom properties sent with the pageview"),
        SESSION,
        _s("entry_page", "First page of the visit", nullable=True),
        _s("referrer", "Referrer host (null for direct)" + _VISIT, nullable=True),
        _s("source", "utm_source, else the referrer's known name or host, else direct" + _VISIT),
        _s("channel", "direct, organic search, paid, email, social, ai assistants or referral" + _VISIT),
        _s("utm_source", "UTM source" + _VISIT, nullable=True),
        _s("utm_medium", "UTM medium" + _VISIT, nullable=True),
        _s("utm_campaign", "UTM campaign" + _VISIT, nullable=True),
        _s("utm_content", "UTM content" + _VISIT, nullable=True),
        _s("utm_term", "UTM term" + _VISIT, nullable=True),
        _s("browser", "Browser family" + _VISIT),
        _s("os", "Operating system family" + _VISIT),
        _s("language", "Primary language subtag, lower case" + _VISIT, nullable=True),
        _s("country", "ISO 3166-1 alpha-2 country code" + _VISIT, nullable=True),
        SITE,
    ),
)

GOALS = Table(
    "goals",
    "goals",
    (
        _s("id", "Goal id (ULID)"),
        _s("name", "Goal name"),
        _s("type", "url or event"),
        Column(
            "config",
            "json",
            description='{"match_type", "path"} for url goals, {"event_name"} for event goals',
        ),
        Column("is_active", "bool", description="Whether completions are recorded"),
        Column("created_at", "timestamp", description="When the goal was created, ISO 8601 UTC"),
        SITE,
    ),
    paged=False,
)

GOAL_COMPLETIONS = Table(
    "goal_completions",
    "goal-completions",
    (
        ID,
        _s("goal_id", "The completed goal's id"),
        VISITOR,
        _s("pageview_id", "Id of the event that completed the goal (a pageview, or the custom event)"),
        CREATED,
        SESSION,
        SITE,
    ),
)

ITEM_FIELDS = (
    _s("item_id", "Product id (SKU)", nullable=True),
    _s("item_name", "Product name"),
    Column("price", "float", description="Unit price"),
    Column("quantity", "int", description="Quantity"),
)

ECOMMERCE_EVENTS = Table(
    "ecommerce_events",
    "ecommerce-events",
    (
        ID,
        VISITOR,
        SESSION,
        _s("event_type", "view_item, add_to_cart, begin_checkout or purchase"),
        _s("transaction_id", "Order id (purchases)", nullable=True),
        Column("value", "float", nullable=True, description="Event value in `currency`"),
        _s("currency", "ISO 4217 currency code of value", nullable=True),
        Column("items", "records", description="Products of the event", fields=ITEM_FIELDS),
        CREATED,
        SITE,
    ),
)

TABLES: tuple[Table, ...] = (PAGEVIEWS, GOALS, GOAL_COMPLETIONS, ECOMMERCE_EVENTS)
BY_NAME = {table.name: table for table in TABLES}
