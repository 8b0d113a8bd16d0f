"""The pipeline's own types, in the order an event meets them: a `PendingEvent` (validated, with
its time, IP and User-Agent), a `PreparedEvent` (site, client and visitor ids decided, the IP and
User-Agent no longer needed), and its `Outcome` (accepted, duplicate or dropped)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass
from itertools import chain, repeat
from typing import Any, overload

import orjson
from sqlalchemy import Table

from analytics_mcp.definitions import ECOMMERCE_EVENTS
from analytics_mcp.ingest.enrich import ClientInfo
from analytics_mcp.ingest.sites import SiteInfo
from analytics_mcp.ingest.wire import Item, TrackerEvent

ACCEPTED = "accepted"
DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class SideRow:
    """A row of another table that belongs to one event (e.g. its A/B testing facts): written in
    the event's transaction, only when the event itself is stored (never for a duplicate or a
    dropped event). The writer adds the event's row id as `event_id`."""

    table: Table
    values: dict[str, Any]

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled by table name for the writer process (a Table does not travel well).
        return (_side_row, (self.table.name, self.values))


def _side_row(table_name: str, values: dict[str, Any]) -> SideRow:
    from analytics_mcp.storage.schema import metadata

    return SideRow(metadata.tables[table_name], values)


@dataclass(slots=True)
class PendingEvent:
    """A validated event with its time and client, ready for enrichment and storage."""

    domain: str
    name: str
    url: str
    referrer: str | None
    props: str | None  # JSON text
    interactive: bool
    event_id: str | None
    revenue: float | None
    currency: str | None
    transaction_id: str | None
    items: list[Item] | None
    engagement_ms: int | None
    scroll_depth: int | None
    language: str | None
    hash_routing: bool
    ts: int  # epoch ms
    ip: str
    user_agent: str
    side_row: SideRow | None = None
    # Set by BatchProcessor.prepare from the IP before the IP is dropped: spooled, never the IP.
    country: str | None = None
    # Identified events (docs/platform.md): the site's customer id and the traits sent with it
    # (JSON text). Last, so frames spooled before they existed still decode.
    user_id: str | None = None
    traits: str | None = None

    @classmethod
    def from_wire(cls, event: TrackerEvent, *, ts: int, ip: str, user_agent: str) -> PendingEvent:
        name = event.name
        # Custom and e-commerce events are interactive unless the sender says otherwise;
        # pageviews and engagement reports never are (they decide bounces by other rules).
        default_interactive = name not in ("pageview", "engagement")
        interactive = default_interactive if event.interactive is None else event.interactive
        if name in ("pageview", "engagement"):
            interactive = False
        return cls(
            domain=event.domain,
            name=name,
            url=event.url,
            referrer=event.referrer or None,
            props=orjson.dumps(event.props).decode() if event.props else None,
            interactive=interactive,
            event_id=event.event_id,
            revenue=event.revenue.amount if event.revenue else None,
            currency=event.revenue.currency.upper() if event.revenue else None,
            transaction_id=event.transaction_id or None,
            items=event.items if name in ECOMMERCE_EVENTS else None,
            engagement_ms=event.engagement_ms,
            scroll_depth=event.scroll_depth,
            language=event.language,
            hash_routing=event.hash,
            ts=ts,
            ip=ip,
            user_agent=user_agent,
            user_id=event.user_id,
            traits=orjson.dumps(event.traits).decode() if event.traits else None,
        )

    def fingerprint(self) -> tuple[Any, ...]:
        """Identity of an event without an event_id, for the short dedup window."""
        return (self.name, self.url, self.props, self.revenue, self.transaction_id, self.engagement_ms)


class ColumnBatch(Sequence[PendingEvent]):
    """Events given as columns (plain batch bodies, ingest/plain_columns.py), by field name (a field
    not given is None for every event): prepare takes a batch whose every event is accepted
    straight to its spool frame from them (ingest/prepare_columns.py), and the frame takes them as
    they are instead of reading each event's fields back (spool/columns.py). The events themselves
    are built only when first read (`events`: a batch prepared event by event), as `events`
    gives them; prepare sets `country` on them and nothing else is set after, so the columns stay
    true."""

    def __init__(self, events: Iterable[PendingEvent], columns: dict[str, Sequence[Any]]) -> None:
        """`events`: the events, or an iterator that builds them (read once, when first needed)."""
        self.columns = columns
        self._size = len(events) if isinstance(events, Sized) else len(next(iter(columns.values())))
        self._building: Iterable[PendingEvent] | None = events
        self._events: list[PendingEvent] = []

    @property
    def events(self) -> list[PendingEvent]:
        if self._building is not None:
            self._events, self._building = list(self._building), None
        return self._events

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, index: int) -> PendingEvent: ...

    @overload
    def __getitem__(self, index: slice) -> list[PendingEvent]: ...

    def __getitem__(self, index: int | slice) -> PendingEvent | list[PendingEvent]:
        return self.events[index]

    def __iter__(self) -> Iterator[PendingEvent]:
        return iter(self.events)

    def __eq__(self, other: object) -> bool:
        """Equal to a list of the same events (as the list it once was), or to such a batch."""
        if isinstance(other, ColumnBatch):
            other = other.events
        return self.events == other if isinstance(other, list) else NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, as a list


def joined_batches(batches: Sequence[Sequence[PendingEvent]]) -> Sequence[PendingEvent]:
    """Several requests' events as one batch, in order: a ColumnBatch when every part is one (its
    columns joined, a field a part lacks None for its events, its events built when needed), so
    the joined batch keeps the column paths of prepare and the spool frame."""
    if not all(isinstance(batch, ColumnBatch) for batch in batches):
        return list(chain.from_iterable(batches))
    parts = [batch.columns for batch in batches if isinstance(batch, ColumnBatch)]
    names = dict.fromkeys(name for part in parts for name in part)
    columns: dict[str, Sequence[Any]] = {
        name: list(
            chain.from_iterable(
                part[name] if name in part else repeat(None, len(batch))
                for part, batch in zip(parts, batches, strict=True)
            )
        )
        for name in names
    }
    return ColumnBatch(chain.from_iterable(batches), columns)


@dataclass(slots=True)
class PreparedEvent:
    """An accepted event ready to store: where it came from was turned into visitor ids."""

    index: int  # its position in the batch it arrived in
    event: PendingEvent
    site: SiteInfo
    client: ClientInfo
    visitor_ids: tuple[int, ...]  # previous day's salt first, then the event's own day
    hostname: str
    pathname: str  # with hash routing, "#fragment" included


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # accepted | duplicate | dropped
    reason: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status == ACCEPTED


# Every accepted event's outcome, one object (frozen, so shared safely): prepare and the writers
# built one per event, 0.4 us each under the GIL the requests need too.
ACCEPTED_OUTCOME = Outcome(ACCEPTED)


def dropped(reason: str) -> Outcome:
    return Outcome("dropped", reason)
