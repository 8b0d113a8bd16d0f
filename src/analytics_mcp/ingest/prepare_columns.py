"""Prepare a plain batch (a ColumnBatch) straight to its spool frame, column by column.

`BatchProcessor.prepare_keyed` builds a PreparedEvent per event and `spool/columns.frame` reads each
back into columns: together about a quarter of the server's GIL time for a plain batch. The usual
batch has every event accepted, so here the batch's distinct visitors and pages are decided with the
slow path's own code (batch_identify.Known, page_or_none) and every per-event column is gathered
from them in C (`map`, `zip`, `Counter`): no Python loop over the events. Any other batch (a drop,
a duplicate, a missing event id, a tenant over its quota) answers None before anything that would
change what `prepare_keyed` answers next, and the caller prepares it event by event as before.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import compress, count, repeat
from operator import attrgetter, floordiv, itemgetter, ne
from typing import Any

from sqlalchemy import Connection

from analytics_mcp.definitions import ENGAGEMENT
from analytics_mcp.ingest.batch_identify import Known, Page, Visitor, page_or_none
from analytics_mcp.ingest.batch_processor import BatchProcessor, DedupKey, Unsettled
from analytics_mcp.ingest.event import ACCEPTED_OUTCOME, ColumnBatch, Outcome
from analytics_mcp.ingest.spool.columns import _PAGE, assembled, given_columns
from analytics_mcp.timeutil import DAY_MS

Frame = dict[str, Any]
# Per-visitor columns, gathered per event: the frame's own, then the events' country column.
_PLACE = ("site_id", "domain", "browser", "os", "device_type", "visitor_ids", "country")
# Given columns that can make an event more than a plain one (a purchase's key, products).
_NOT_PLAIN = ("transaction_id", "items", "side_row")


def prepare_frame(
    processor: BatchProcessor, conn: Connection, batch: ColumnBatch, unsettled: Unsettled
) -> tuple[Frame, list[Outcome], list[DedupKey]] | None:
    """`(columns.frame(live, batch), outcomes, keys)` for `live, outcomes, keys =
    processor.prepare_keyed(conn, batch, unsettled)` when every event is accepted; else None,
    having changed nothing `prepare_keyed` reads except what it would fill alike: the site and
    salt caches, the day's salt created, the quota allowances read."""
    given = batch.columns
    if not batch or not _plain(given):
        return None
    event_ids = given["event_id"]
    # Cheapest first: an event without an id (None or empty) or an id twice goes the slow way.
    if not all(event_ids) or len(set(event_ids)) != len(event_ids):
        return None
    pages = _pages(given["url"], given["hash_routing"])
    if pages is None:
        return None
    days = map(floordiv, given["ts"], repeat(DAY_MS))
    first: dict[tuple[str, str, str, int], int] = {}
    # Each event's code: the position of its visitor's first event (one hash an event).
    codes = list(
        map(
            first.setdefault,
            zip(given["domain"], given["ip"], given["user_agent"], days, strict=True),
            count(),
        )
    )
    processor.salts.begin_batch()  # as prepare_keyed does before deciding visitors
    visitors = _visitors(Known(processor.sites, processor.salts, conn), first)
    if visitors is None:
        return None
    place = dict(zip(_PLACE, _gathered(visitors, codes, len(batch)), strict=True))
    keys: list[DedupKey] = list(zip(repeat("event"), place["site_id"], event_ids))
    if _any_seen(processor, conn, keys, list(zip(place["site_id"], event_ids, strict=True)), unsettled):
        return None
    if not processor.quota.admit(conn, _counts(visitors, codes, given["name"])):
        return None
    return _frame(given, len(batch), place, pages), [ACCEPTED_OUTCOME] * len(batch), keys


def _plain(given: dict[str, Sequence[Any]]) -> bool:
    """Columns for every field read here, none that makes an event more than plain."""
    needed = ("domain", "ip", "user_agent", "ts", "url", "hash_routing", "event_id", "name")
    return all(name in given for name in needed) and not any(name in given for name in _NOT_PLAIN)


def _pages(urls: Sequence[str], hashes: Sequence[bool]) -> dict[str, tuple[Any, ...]] | None:
    """The hostname and pathname columns, when every URL is valid; else None. A batch has few
    pages: each distinct (URL, hash routing) is parsed once, by the slow path's cached function."""
    keys: Sequence[Any] = list(zip(urls, hashes, strict=True)) if any(hashes) else urls
    found: dict[Any, Page | None] = dict.fromkeys(keys)
    for key in found:
        found[key] = page_or_none(*key) if isinstance(key, tuple) else page_or_none(key, False)
    if None in found.values():
        return None
    return dict(zip(_PAGE[1:], zip(*_gather(found, keys), strict=True), strict=True))


def _visitors(known: Known, first: dict[tuple[str, str, str, int], int]) -> dict[int, Visitor] | None:
    """Each distinct visitor (by its first event's position) decided as prepare decides it (site,
    bot, day; every URL is valid by now), in the batch's order; None at the first one dropped."""
    visitors: dict[int, Visitor] = {}
    for who, position in first.items():
        if None in who:  # a column a joined part lacked (event.joined_batches): the events know
            return None
        found = known.visitor(who, True)
        if isinstance(found, Outcome):
            return None
        visitors[position] = found
    return visitors


_place_of = attrgetter("id", "domain")
_client_of = attrgetter("browser", "os", "device_type")


def _gathered(visitors: dict[int, Visitor], codes: list[int], size: int) -> list[tuple[Any, ...]]:
    """The _PLACE columns per event, each visitor's row gathered by code and transposed in C."""
    rows: list[Any] = [None] * size
    for position, (site, client, ids, country) in visitors.items():
        rows[position] = (*_place_of(site), *_client_of(client), ids, country)
    return list(zip(*_gather(rows, codes), strict=True))


def _gather(values: Any, codes: Sequence[Any]) -> tuple[Any, ...]:
    """`values[code]` for each code, as one tuple built in C (faster than `map` of __getitem__);
    an itemgetter of one code gives the value itself, not a 1-tuple."""
    return itemgetter(*codes)(values) if len(codes) > 1 else (values[codes[0]],)


def _any_seen(
    processor: BatchProcessor,
    conn: Connection,
    keys: list[DedupKey],
    pairs: list[tuple[int, str | None]],
    unsettled: Unsettled,
) -> bool:
    """Whether an event id (its key, its (site id, id) pair) is unsettled or stored: the lookups
    `_classify` makes, in its order (read-only: nothing is remembered)."""
    if unsettled and not unsettled.isdisjoint(keys):
        return True
    return bool(processor.stored_event_ids(conn, pairs))


def _counts(visitors: dict[int, Visitor], codes: list[int], names: Sequence[str]) -> dict[int, int]:
    """Events each tenant's quota counts (engagement reports are not), tenants in batch order."""
    tenants: dict[int, int] = dict.fromkeys((site.tenant_id for site, *_rest in visitors.values()), 0)
    if len(tenants) == 1:  # the usual batch (one site): one count in C, no Counter
        return dict.fromkeys(tenants, len(names) - names.count(ENGAGEMENT))
    counted = Counter(compress(codes, map(ne, names, repeat(ENGAGEMENT))))
    for position, (site, *_rest) in visitors.items():
        tenants[site.tenant_id] += counted[position]
    return tenants


def _frame(
    given: dict[str, Sequence[Any]], size: int, place: dict[str, tuple[Any, ...]], pages: Frame
) -> Frame:
    """What spool/columns.frame gives for these events all accepted (its `_given_columns` path):
    the given event columns, country from the visitors, no products."""
    visitors = {name: place[name] for name in _PLACE if name != "country"}
    return assembled(given_columns(given, size, place["country"]), {}, visitors, pages)
