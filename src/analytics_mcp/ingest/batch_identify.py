"""Prepare's first step over a batch: each event's site, client, visitor ids, country and page, or
why it is dropped (in the order each event is checked: domain, bot, URL, time).

This runs on the thread every acknowledgement waits for, under the GIL the requests need. A batch
has few visitors (domain, address, client, UTC day) and few pages: a visitor's site, client, ids
and country are decided at its first event, a page at its URL's first event, and each event does
a tuple, two dict lookups and its PreparedEvent (a loop over the events measured faster than
building the same from columns with map and zip, each pass of which costs about as much).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from hashlib import blake2b
from urllib.parse import urlsplit

from sqlalchemy import Connection

from analytics_mcp.ingest import enrich, geo
from analytics_mcp.ingest.enrich import ClientInfo
from analytics_mcp.ingest.event import Outcome, PendingEvent, PreparedEvent, dropped
from analytics_mcp.ingest.identity import SaltStore, identity_key, keyed, previous_day, utc_day, visitor_id
from analytics_mcp.ingest.sites import SiteInfo, SiteRegistry
from analytics_mcp.timeutil import DAY_MS

Visitor = tuple[SiteInfo, ClientInfo, tuple[int, ...], str | None]  # site, client, ids, country
Page = tuple[str, str]  # hostname, pathname
_INVALID_URL = dropped("invalid url")


def identify(
    sites: SiteRegistry,
    salts: SaltStore,
    conn: Connection,
    batch: Sequence[PendingEvent],
    outcomes: list[Outcome | None],
) -> list[PreparedEvent]:
    """The batch's events that pass, prepared, in order; the others' outcomes set. Sets `country`
    on each event of a known visitor (the IP is not read after this)."""
    live: list[PreparedEvent] = []
    known = Known(sites, salts, conn)
    visitors: dict[tuple[str, str, str, int], Visitor] = {}
    pages: dict[str, Page] = {}  # a valid URL's page without hash routing
    for index, event in enumerate(batch):
        who = (event.domain, event.ip, event.user_agent, event.ts // DAY_MS)
        visitor = visitors.get(who)
        page = None if event.hash_routing else pages.get(event.url)
        if page is None:  # the URL's first event, an invalid URL or hash routing
            page = page_or_none(event.url, event.hash_routing)
            if page is not None and not event.hash_routing:
                pages[event.url] = page
        if visitor is None:
            found = known.visitor(who, page is not None)
            if isinstance(found, Outcome):
                outcomes[index] = found
                continue
            visitor = visitors[who] = found
        site, client, ids, event.country = visitor
        if page is None:
            outcomes[index] = _INVALID_URL
            continue
        hostname, pathname = page
        live.append(PreparedEvent(index, event, site, client, ids, hostname, pathname))
    return live


class Known:
    """One batch's sites, clients and days, each looked up once (a batch has few of each): here
    and in prepare_columns (a plain batch's distinct visitors), so both decide a visitor alike."""

    def __init__(self, sites: SiteRegistry, salts: SaltStore, conn: Connection) -> None:
        self._registry, self._salt_store, self._conn = sites, salts, conn
        self._sites: dict[str, SiteInfo | None] = {}
        self._clients: dict[str, ClientInfo | None] = {}
        self._days: dict[int, tuple[blake2b | None, blake2b]] = {}  # the previous day's keyed salt, own

    def visitor(self, who: tuple[str, str, str, int], valid_url: bool) -> Visitor | Outcome:
        """A visitor's site, client, ids and country, or why its events are dropped (domain, bot,
        URL, time: checked in that order). One tuple in: a call with *args and a keyword cost
        more than the body around it."""
        domain, ip, user_agent, day_index = who
        if domain not in self._sites:
            self._sites[domain] = self._registry.lookup(self._conn, domain)
        site = self._sites[domain]
        if site is None:
            return dropped("unknown domain")
        if user_agent not in self._clients:
            self._clients[user_agent] = enrich.parse_user_agent(user_agent)
        client = self._clients[user_agent]
        if client is None:
            return dropped("bot")
        if not valid_url:  # the URL before the time, as for every event
            return _INVALID_URL
        try:  # one event's impossible time must never fail the others in its batch
            previous, own = self._day(day_index)
        except (ValueError, OverflowError):
            return dropped("invalid timestamp")
        key = identity_key(site.domain, ip, user_agent)
        # the previous day's id first (when its salt still exists), then the event's own day's
        if previous is None:
            return site, client, (visitor_id(own, key),), geo.country_of(ip)
        return site, client, (visitor_id(previous, key), visitor_id(own, key)), geo.country_of(ip)

    def _day(self, day_index: int) -> tuple[blake2b | None, blake2b]:
        """UTC day `day_index`'s salts as keyed states (identity.keyed): the previous day's if it
        still exists, the day's own. Remembered only once known: a failure fails each visitor."""
        known = self._days.get(day_index)
        if known is None:
            day, store = utc_day(day_index * DAY_MS), self._salt_store
            own = store.get(self._conn, day, create=True)
            assert own is not None
            previous = store.get(self._conn, previous_day(day), create=False)
            known = self._days[day_index] = (None if previous is None else keyed(previous), keyed(own))
        return known


def _page(url: str, hash_routing: bool) -> Page:
    """(hostname, pathname); with hash routing the fragment is part of the path."""
    hostname, pathname = enrich.normalise_pathname(url)
    if hash_routing:
        fragment = urlsplit(url).fragment
        pathname = f"{pathname}#{fragment}" if fragment else pathname
    return hostname, pathname


@lru_cache(maxsize=65536)  # a site has far fewer pages than events
def page_or_none(url: str, hash_routing: bool) -> Page | None:
    try:
        return _page(url, hash_routing)
    except ValueError:
        return None
