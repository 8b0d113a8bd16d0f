"""Prepared events in and out of a spool frame.

A frame holds one batch's prepared events: the event without its IP and User-Agent (with the
country found from the IP), the site, the parsed client, the visitor ids and the page. Nothing
private is written: identity was computed before spooling. This version writes column frames
(spool/columns.py); the previous kind, a pickled list of one tuple per event (`encode_rows`),
still decodes, so a spool left by an older server is stored after an upgrade.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import fields
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection

from analytics_mcp.ingest.batch_processor import DedupKey, event_keys
from analytics_mcp.ingest.enrich import ClientInfo
from analytics_mcp.ingest.event import PendingEvent, PreparedEvent
from analytics_mcp.ingest.sites import SiteInfo, SiteRegistry
from analytics_mcp.ingest.spool import columns

_PRIVATE = ("ip", "user_agent")
_EVENT_FIELDS = tuple(f.name for f in fields(PendingEvent) if f.name not in (*_PRIVATE, "items"))
_NAME, _EVENT_ID, _TRANSACTION = (_EVENT_FIELDS.index(n) for n in ("name", "event_id", "transaction_id"))
_ALL_FIELDS = tuple(f.name for f in fields(PendingEvent))
_ITEMS_AT = _ALL_FIELDS.index("items")  # where `values` skips a field of PendingEvent
_PRIVATE_AT = _ALL_FIELDS.index("ip") - 1
assert _ALL_FIELDS[_PRIVATE_AT + 1 : _PRIVATE_AT + 3] == _PRIVATE
_event_values = attrgetter(*_EVENT_FIELDS)


def encode(live: list[PreparedEvent], batch: Sequence[PendingEvent] | None = None) -> bytes:
    """A column frame (what this version writes); `batch`: what `live` was prepared from."""
    return columns.encode(live, batch)


def encode_rows(live: list[PreparedEvent]) -> bytes:
    """A frame of the previous kind, one tuple per event (tests: what older servers spooled)."""
    records = []
    for item in live:
        event, client = item.event, item.client
        products = (
            [(p.item_id, p.item_name, p.price, p.quantity) for p in event.items] if event.items else None
        )
        records.append(
            (
                _event_values(event),  # the same tuple as before, built in C
                products,
                item.site.id,
                item.site.domain,
                (client.browser, client.os, client.device_type),
                item.visitor_ids,
                item.hostname,
                item.pathname,
            )
        )
    return pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL)


def decode(payload: bytes, conn: Connection, sites: SiteRegistry, start: int = 0) -> list[PreparedEvent]:
    """The frame's events, numbered (`index`) from `start`; a deleted site's are left out."""
    return decode_frame(payload, conn, sites, start)[0]


def decode_frame(
    payload: bytes, conn: Connection, sites: SiteRegistry, start: int = 0
) -> tuple[list[PreparedEvent], dict[str, Any] | None]:
    """`decode`'s events, and the frame's columns when it is a column frame (else None)."""
    return decode_loaded(load(payload), conn, sites, start)


def load(payload: bytes) -> dict[str, Any] | list[tuple[Any, ...]]:
    """The frame as pickled: a column frame's dict, or the previous kind's list of tuples."""
    frame: dict[str, Any] | list[tuple[Any, ...]] = pickle.loads(payload)
    return frame


def decode_loaded(
    frame: dict[str, Any] | list[tuple[Any, ...]], conn: Connection, sites: SiteRegistry, start: int = 0
) -> tuple[list[PreparedEvent], dict[str, Any] | None]:
    """`decode_frame` of a frame `load` gave."""
    if isinstance(frame, dict):
        return columns.decode(frame, conn, sites, start), frame
    return _decode_rows(frame, conn, sites, start), None


def _decode_rows(
    frame: list[tuple[Any, ...]], conn: Connection, sites: SiteRegistry, start: int
) -> list[PreparedEvent]:
    live: list[PreparedEvent] = []
    site_of: dict[str, SiteInfo | None] = {}  # a frame has few domains: look each up once
    clients: dict[tuple[str, str, str], ClientInfo] = {}  # and few clients (frozen: shared)
    for values, products, site_id, domain, client, ids, hostname, pathname in frame:
        if domain not in site_of:
            site_of[domain] = sites.lookup(conn, domain)
        site = site_of[domain]
        if site is None or site.id != site_id:  # the site was deleted since
            continue
        info = clients.get(client)
        if info is None:
            info = clients[client] = ClientInfo(*client)
        event = _event(values, products)
        live.append(PreparedEvent(start + len(live), event, site, info, ids, hostname, pathname))
    return live


def _event(values: tuple[Any, ...], products: list[tuple[Any, ...]] | None) -> PendingEvent:
    """Positional, in PendingEvent's field order (items, ip and user_agent are not in `values`);
    frames spooled before `country`, `user_id` and `traits` existed have shorter tuples."""
    items = columns.products_of(products or [])
    args: tuple[Any, ...] = (*values[:_ITEMS_AT], items or None, *values[_ITEMS_AT:_PRIVATE_AT], "", "")
    return PendingEvent(*args, *values[_PRIVATE_AT:])


def frame_keys(payload: bytes) -> tuple[list[DedupKey], int]:
    """A frame's dedup keys (as `dedup_keys` gives them for its events) and its event count,
    without the database: a restarted server knows every spooled key before it answers."""
    records = pickle.loads(payload)
    if isinstance(records, dict):
        return columns.keys(records), len(records["site_id"])
    keys: list[DedupKey] = []
    for values, _products, site_id, *_rest in records:
        keys.extend(event_keys(site_id, values[_NAME], values[_EVENT_ID], values[_TRANSACTION]))
    return keys, len(records)
