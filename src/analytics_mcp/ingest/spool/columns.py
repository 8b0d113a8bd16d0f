"""The spool's column frame: one batch's prepared events as a list per field, not a tuple per
event, so the server encodes and the writer decodes them with a few C-level `map`/`zip` calls.

Written by this version; frames of the previous kind (a pickled list of per-event tuples,
codec.py) still decode, so a spool written before an upgrade is replayed after it. The pickled
object tells the kinds apart: a dict here, a list there. An older server cannot read this kind.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from itertools import chain, repeat
from operator import attrgetter, is_
from typing import Any, Final

from sqlalchemy import Connection

from analytics_mcp.ingest.enrich import ClientInfo
from analytics_mcp.ingest.event import ColumnBatch, PendingEvent, PreparedEvent
from analytics_mcp.ingest.sites import SiteInfo, SiteRegistry
from analytics_mcp.ingest.wire import Item

KIND: Final = "columns-1"
_PRIVATE: Final = ("ip", "user_agent")  # never spooled (identity was computed before)
_EVENT_FIELDS: Final = tuple(
    name for name in PendingEvent.__dataclass_fields__ if name not in (*_PRIVATE, "items")
)
_ALL_FIELDS: Final = tuple(PendingEvent.__dataclass_fields__)
_event_values = attrgetter(*_EVENT_FIELDS)
_event_of = attrgetter("event")
_items_of = attrgetter("items")
_country_of = attrgetter("country")
_place = attrgetter("site.id", "site.domain", "client.browser", "client.os", "client.device_type")
_PAGE: Final = ("visitor_ids", "hostname", "pathname")
_page = attrgetter(*_PAGE)
_CLIENT: Final = ("browser", "os", "device_type")
_TOP: Final = (*_PAGE, *_CLIENT)  # the frame's own columns `joined` reads besides the events'


def encode(live: list[PreparedEvent], batch: Sequence[PendingEvent] | None = None) -> bytes:
    return pickled(frame(live, batch))


def pickled(frame: dict[str, Any]) -> bytes:
    return pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL)


def frame(live: list[PreparedEvent], batch: Sequence[PendingEvent] | None = None) -> dict[str, Any]:
    """The frame `encode` pickles. `batch`: the events `live` were prepared from, whose columns
    are taken as they are when they are a ColumnBatch and none was dropped (reading each event's
    fields back was the largest part of encoding: ~0.5 us an event under the GIL)."""
    events = list(map(_event_of, live))
    columns = _given_columns(batch, events) or _columns(_EVENT_FIELDS, list(map(_event_values, events)))
    place = _columns(("site_id", "domain", "browser", "os", "device_type"), list(map(_place, live)))
    return assembled(columns, _items(events), place, _columns(_PAGE, list(map(_page, live))))


def assembled(
    columns: dict[str, tuple[Any, ...]],
    items: dict[int, list[tuple[Any, ...]]],
    place: dict[str, tuple[Any, ...]],
    pages: dict[str, tuple[Any, ...]],
) -> dict[str, Any]:
    """A frame of these event columns (`_EVENT_FIELDS`), products, site and client columns and
    page columns (`_PAGE`)."""
    # Fields no event of the batch has (props, revenue, identity...) are listed, not pickled: a
    # value costs the pickler a memo lookup even when it is a reference.
    absent = [name for name, column in columns.items() if _all_none(column)]
    for name in absent:
        del columns[name]
    return {"kind": KIND, "events": columns, "absent": absent, "items": items, **place, **pages}


def given_columns(
    given: dict[str, Sequence[Any]], size: int, country: tuple[Any, ...]
) -> dict[str, tuple[Any, ...]]:
    """A ColumnBatch's columns in the form `_columns` gives them (a field not given None for
    every event), with the events' `country` column."""
    nothing = (None,) * size
    columns = {name: tuple(given[name]) if name in given else nothing for name in _EVENT_FIELDS}
    columns["country"] = country
    return columns


def _given_columns(batch: Sequence[PendingEvent] | None, events: list[PendingEvent]) -> dict[str, Any]:
    """A ColumnBatch's columns (and each event's `country`, set by prepare), in the order and form
    `_columns` gives them, when `events` are exactly the batch's events; else empty."""
    if not isinstance(batch, ColumnBatch) or not events or len(batch) != len(events):
        return {}
    if not all(map(is_, events, batch)):
        return {}
    return given_columns(batch.columns, len(events), tuple(map(_country_of, events)))


def _all_none(column: tuple[Any, ...]) -> bool:
    """Every value None: the first value decides most columns without comparing the others to None
    (a string's comparison with None is slow: 8 present columns cost ~0.2 us an event)."""
    return not column or (column[0] is None and column.count(None) == len(column))


def _items(events: list[PendingEvent]) -> dict[int, list[tuple[Any, ...]]]:
    """The products of the events that have some, by position; the common batch has none, which
    one C-level count says (a Python loop over the events cost ~1 % of the server's GIL)."""
    every = list(map(_items_of, events))
    if every.count(None) == len(every):
        return {}
    return {i: [(p.item_id, p.item_name, p.price, p.quantity) for p in e] for i, e in enumerate(every) if e}


def _columns(names: tuple[str, ...], rows: list[tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
    """Per-event tuples as one tuple per name (zip transposes in C); empty ones for no event."""
    if not rows:
        return dict.fromkeys(names, ())
    return dict(zip(names, zip(*rows, strict=True), strict=True))


def decode(
    frame: dict[str, Any], conn: Connection, sites: SiteRegistry, start: int = 0
) -> list[PreparedEvent]:
    """The frame's events numbered from `start`; those of a site deleted since are left out."""
    count = len(frame["site_id"])
    if not count:
        return []
    fields = _fields(frame)
    items: list[list[Item] | None] = [None] * count
    for index, products in frame["items"].items():
        items[index] = products_of(products)
    given = {**fields, "items": items, "ip": repeat(""), "user_agent": repeat("")}
    # A field this frame lacks (written before it existed) takes its default.
    args = [given.get(name, repeat(PendingEvent.__dataclass_fields__[name].default)) for name in _ALL_FIELDS]
    events = map(PendingEvent, *args)
    places = list(zip(frame["domain"], frame["site_id"], strict=True))
    site_of = sites_now([frame], conn, sites)
    clients = list(zip(frame["browser"], frame["os"], frame["device_type"], strict=True))
    client_of = {key: ClientInfo(*key) for key in set(clients)}  # frozen: shared
    site_column = map(site_of.__getitem__, places)
    client_column = map(client_of.__getitem__, clients)
    live = list(
        map(
            PreparedEvent,
            range(start, start + count), events, site_column, client_column,
            frame["visitor_ids"], frame["hostname"], frame["pathname"],
        )
    )  # fmt: skip
    if None in site_of.values():
        live = [item for item in live if item.site is not None]
        for index, item in enumerate(live, start):
            item.index = index
    return live


def event_at(frame: dict[str, Any], offset: int, site: SiteInfo, index: int) -> PreparedEvent:
    """The event at `offset` of the frame, as `decode` gives it (numbered `index`): one event
    read on demand where the writer needs it whole."""
    fields, absent = frame["events"], frame.get("absent", ())
    products = frame["items"].get(offset)
    given = {"items": None if products is None else products_of(products), "ip": "", "user_agent": ""}
    args: list[Any] = [
        given[name] if name in given else fields[name][offset] if name in fields else
        None if name in absent else PendingEvent.__dataclass_fields__[name].default
        for name in _ALL_FIELDS
    ]  # fmt: skip
    client = ClientInfo(frame["browser"][offset], frame["os"][offset], frame["device_type"][offset])
    return PreparedEvent(
        index, PendingEvent(*args), site, client,
        frame["visitor_ids"][offset], frame["hostname"][offset], frame["pathname"][offset],
    )  # fmt: skip


def sites_now(
    frames: Sequence[dict[str, Any]], conn: Connection, sites: SiteRegistry
) -> dict[tuple[str, int], SiteInfo | None]:
    """Each (domain, site id) of the frames' events -> the site as the registry has it now, None
    where it was deleted since (or the domain now names another site): looked up once each."""
    found: dict[tuple[str, int], SiteInfo | None] = {}
    for frame in frames:
        for domain, site_id in set(zip(frame["domain"], frame["site_id"], strict=True)):
            if (domain, site_id) not in found:
                site = sites.lookup(conn, domain)
                found[(domain, site_id)] = site if site is not None and site.id == site_id else None
    return found


def products_of(products: list[tuple[Any, ...]]) -> list[Item]:
    """An event's products as the frame holds them, as Items again."""
    return [Item.model_construct(item_id=i, item_name=n, price=p, quantity=q) for i, n, p, q in products]


def keys(frame: dict[str, Any]) -> list[tuple[str, int, str]]:
    """The frame's dedup keys, as batch_processor.dedup_keys gives them."""
    fields, site_ids = _fields(frame), frame["site_id"]
    found: list[tuple[str, int, str]] = [
        ("event", site, event_id)
        for site, event_id in zip(site_ids, fields["event_id"], strict=False)
        if event_id is not None
    ]
    found += [
        ("transaction", site, tx)
        for site, name, tx in zip(site_ids, fields["name"], fields["transaction_id"], strict=False)
        if name == "purchase" and tx is not None
    ]
    return found


def joined(frames: Sequence[dict[str, Any]], names: Sequence[str]) -> dict[str, Sequence[Any] | None] | None:
    """Fields of the frames' events (event fields, "items", _TOP's: page and client)
    as one sequence each over every event in order, None for a field no event has (nothing read
    per event then); None when a frame lacks one (written before the field existed)."""
    out: dict[str, Sequence[Any] | None] = {}
    for name in names:
        parts = [_part(one, name) for one in frames]
        if any(part is _MISSING for part in parts):
            return None
        if all(part is None for part in parts):
            out[name] = None
        else:
            sizes = [len(one["site_id"]) for one in frames]
            out[name] = list(
                chain.from_iterable(
                    repeat(None, size) if part is None else part
                    for part, size in zip(parts, sizes, strict=True)
                )
            )
    return out


_MISSING: Final[Any] = object()


def _part(frame: dict[str, Any], name: str) -> Any:
    """One frame's column of `name`; None: no event of the frame has it."""
    if name == "items":
        return _item_column(frame["items"], len(frame["site_id"]))
    if name in _TOP:
        return frame[name]
    if name in frame["events"]:
        return frame["events"][name]
    return None if name in frame.get("absent", ()) else _MISSING


def _item_column(items: dict[int, list[tuple[Any, ...]]], count: int) -> list[Any] | None:
    """Each event's products as the frame holds them (None: none)."""
    if not items:
        return None
    column: list[Any] = [None] * count
    for index, products in items.items():
        column[index] = products
    return column


def _fields(frame: dict[str, Any]) -> dict[str, Any]:
    """The event columns, an absent field as None for every event."""
    return {**frame["events"], **dict.fromkeys(frame.get("absent", ()), repeat(None))}
