"""Wire formats in, one validated `IncomingEvent` out.

The tracker (`POST /api/event`) and the server-side batch (`POST /api/v1/events`) share one model;
the batch adds explicit `timestamp`, `ip` and `user_agent`. Sizes are bounded here so nothing
unbounded reaches the pipeline.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator
from pydantic_core import PydanticCustomError

from analytics_mcp.field_error import NUL_RULE, has_nul
from analytics_mcp.field_error import validation_messages as validation_messages  # the batch's too

MAX_EVENT_BYTES = 32 * 1024
MAX_PROPS = 30
MAX_PROP_KEY = 300
MAX_PROP_VALUE = 2000
MAX_ITEMS = 100
MAX_TRAITS = 50
IDENTIFY = "identify"  # an event that only says who the visitor is (docs/platform.md)
# The window of accepted event times (batch format; the tracker uses the server's clock): old
# enough for backfills, never so old or so far ahead that no report could read it.
MAX_FUTURE_MS = 5 * 60 * 1000
MAX_PAST_YEARS = 10
MAX_PAST_MS = MAX_PAST_YEARS * 366 * 24 * 3600 * 1000


PropValue = str | int | float | bool | None


def _refuse_nul(value: object) -> object:
    """Every field of a wire event, nested ones included, before it is read."""
    if has_nul(value):
        raise PydanticCustomError("nul_character", NUL_RULE)
    return value


class Revenue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: float = Field(ge=0, le=1e12)
    currency: Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")]

    @field_validator("amount")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


class Item(BaseModel):
    model_config = ConfigDict(extra="ignore")
    item_id: Annotated[str, Field(max_length=200)] | None = None
    item_name: Annotated[str, Field(min_length=1, max_length=500)]
    price: float = Field(ge=0, le=1e12)
    quantity: int = Field(default=1, ge=1, le=1_000_000)


class TrackerEvent(BaseModel):
    """What the tracker sends. Unknown keys are ignored so old scripts keep working. Booleans are
    strict (`"yes"` is refused, not read as true), and no string may hold a NUL character."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    _no_nul = field_validator("*", mode="before")(_refuse_nul)

    name: Annotated[str, Field(min_length=1, max_length=120)]
    url: Annotated[str, Field(min_length=1, max_length=2000)]
    domain: Annotated[str, Field(min_length=1, max_length=253)]
    referrer: Annotated[str, Field(max_length=2000)] | None = None
    props: dict[Annotated[str, Field(max_length=MAX_PROP_KEY)], PropValue] | None = None
    interactive: StrictBool | None = None
    event_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    revenue: Revenue | None = None
    transaction_id: Annotated[str, Field(max_length=200)] | None = None
    items: list[Item] | None = Field(default=None, max_length=MAX_ITEMS)
    engagement_ms: int | None = Field(default=None, ge=0, le=24 * 3600 * 1000)
    scroll_depth: int | None = Field(default=None, ge=0, le=100)
    language: Annotated[str, Field(max_length=100)] | None = None
    hash: StrictBool = False  # hash-based routing: the #fragment is part of the page path
    # Identified events (docs/platform.md): the site's own customer id, and traits to merge into
    # its profile (null removes one).
    user_id: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    traits: dict[Annotated[str, Field(min_length=1, max_length=100)], PropValue] | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.lower().startswith(("http://", "https://")):
            raise ValueError("must be an absolute http(s) URL")
        return value

    @field_validator("props")
    @classmethod
    def _bounded_props(cls, value: dict[str, PropValue] | None) -> dict[str, PropValue] | None:
        if value is None:
            return None
        if len(value) > MAX_PROPS:
            raise ValueError(f"at most {MAX_PROPS} properties")
        for key, item in value.items():
            if isinstance(item, str) and len(item) > MAX_PROP_VALUE:
                raise ValueError(f"property {key!r} is longer than {MAX_PROP_VALUE} characters")
        return value or None

    @field_validator("traits")
    @classmethod
    def _bounded_traits(cls, value: dict[str, PropValue] | None) -> dict[str, PropValue] | None:
        if value is not None and len(value) > MAX_TRAITS:
            raise ValueError(f"at most {MAX_TRAITS} traits")
        for key, item in (value or {}).items():
            if isinstance(item, str) and len(item) > MAX_PROP_VALUE:
                raise ValueError(f"trait {key!r} is longer than {MAX_PROP_VALUE} characters")
        return value or None

    @model_validator(mode="after")
    def _engagement_fields(self) -> TrackerEvent:
        if self.name == "engagement" and self.engagement_ms is None:
            raise ValueError("engagement events need engagement_ms")
        if self.name == IDENTIFY and self.user_id is None:
            raise ValueError("identify events need user_id")
        if self.traits is not None and self.user_id is None:
            raise ValueError("traits need a user_id")
        return self


class BatchEvent(TrackerEvent):
    """Server-side tracking and backfills: the caller states when, from where and with what."""

    timestamp: datetime
    ip: Annotated[str, Field(min_length=2, max_length=45)]
    user_agent: Annotated[str, Field(min_length=1, max_length=1000)]

    @field_validator("timestamp")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def parse_json_body(body: bytes) -> Any:
    """orjson, with a ValueError a route turns into 400."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"body is not valid JSON: {exc.msg}") from exc


def parse_batch_lines(body: bytes) -> list[Any]:
    """A JSON array or NDJSON (one object per line); blank lines are skipped."""
    stripped = body.lstrip()
    if stripped.startswith(b"["):
        data = parse_json_body(body)
        if not isinstance(data, list):
            raise ValueError("body must be a JSON array or NDJSON")
        return data
    split = body.splitlines()
    try:  # every line an object or value: one C loop (a blank or bad line raises)
        return list(map(orjson.loads, split))
    except orjson.JSONDecodeError:
        pass
    lines: list[Any] = []
    for line in split:
        if not line.strip():
            lines.append(BLANK_LINE)  # keeps reported line numbers true to the body
            continue
        try:
            lines.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            lines.append(INVALID_JSON)
    return lines


class _InvalidLine:
    """Marks an NDJSON line that was not JSON, so it is reported with the others."""


INVALID_JSON = _InvalidLine()
BLANK_LINE = object()


def is_invalid_line(value: object) -> bool:
    return isinstance(value, _InvalidLine)
