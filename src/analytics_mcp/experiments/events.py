"""An A/B event as an ordinary pipeline event, plus its `experiment_events` side row.

- page_view -> a `pageview` of https://<site domain><path>; the other types -> custom events
  `ab:<type>` (scroll_depth is not interactive, so it does not turn a bounce into a visit);
  conversion carries revenue amount_cents / 100 in the site's currency (or `event_data.currency`).
  Props: experiment, variant, variant_id and the type's data fields. The visit, visitor and
  goals come from the pipeline like any other event (IP and User-Agent of the request).
- Idempotency (see `dedup`): an event's key is a keyed hash of (visitor, session, type, data), its
  id the same with the 30-second bucket, so the pipeline's per-site event_id uniqueness stores a
  retry in the same bucket once; the previous bucket's id is looked up with its time.
  Identical events less than 30 s apart are one event. A conversion with a `stripe_session_id`
  is keyed by that alone: once per checkout, ever.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, select

from analytics_mcp.experiments.identity import keyed_event_id, visitor_key
from analytics_mcp.experiments.model import RUNNING
from analytics_mcp.experiments.tracking import TrackInput
from analytics_mcp.ingest.event import PendingEvent, SideRow
from analytics_mcp.storage.schema import events, experiment_events, experiment_variants, experiments, sites

DEDUP_WINDOW_MS = 30_000
CACHE_SECONDS = 5.0
NOT_PROPS = frozenset({"path", "referrer", "stripe_session_id", "currency", "amount_cents"})


@dataclass(frozen=True, slots=True)
class TrackTarget:
    """What a variant_id resolves to: its experiment and site."""

    variant_id: int
    variant_slug: str
    experiment_id: int
    experiment_slug: str
    running: bool
    site_id: int
    domain: str
    currency: str
    salt: bytes


def load_target(conn: Connection, variant_id: int) -> TrackTarget | None:
    v, e, s = experiment_variants.c, experiments.c, sites.c
    stmt = (
        select(v.id, v.slug, e.id, e.slug, e.status, s.id, s.domain, s.currency, e.visitor_salt)
        .select_from(experiment_variants.join(experiments).join(sites))
        .where(v.id == variant_id)
    )
    row = conn.execute(stmt).first()
    if row is None:
        return None
    var_id, var_slug, exp_id, exp_slug, status, site_id, domain, currency, salt = row
    return TrackTarget(
        var_id, var_slug, exp_id, exp_slug, status == RUNNING, site_id, domain, currency, bytes(salt)
    )


class TargetCache:
    """variant_id -> TrackTarget for a few seconds (unknown ids too): no query per tracked event."""

    def __init__(self, ttl: float = CACHE_SECONDS) -> None:
        self._ttl = ttl
        self._entries: dict[int, tuple[float, TrackTarget | None]] = {}

    def cached(self, variant_id: int) -> tuple[bool, TrackTarget | None]:
        """(fresh entry found, its target): a hit needs no database connection at all."""
        hit = self._entries.get(variant_id)
        if hit is not None and time.monotonic() - hit[0] < self._ttl:
            return True, hit[1]
        return False, None

    def lookup(self, conn: Connection, variant_id: int) -> TrackTarget | None:
        found, target = self.cached(variant_id)
        if found:
            return target
        if len(self._entries) > 10_000:  # junk ids must not grow it without bound
            self._entries.clear()
        target = load_target(conn, variant_id)
        self._entries[variant_id] = (time.monotonic(), target)
        return target


@dataclass(frozen=True, slots=True)
class EventIds:
    key: str  # the same for every repeat of the event, whenever it comes
    current: str
    previous: str | None  # the same event's id in the previous window (None: not windowed)


def event_ids(target: TrackTarget, track: TrackInput, now_ms: int) -> EventIds:
    checkout = track.data.get("stripe_session_id")
    if track.event_type == "conversion" and checkout is not None:
        once = keyed_event_id(target.salt, "conversion", checkout)
        return EventIds(once, once, None)
    parts = (track.visitor_id, track.session_id, track.event_type, track.data)
    window = now_ms // DEDUP_WINDOW_MS
    return EventIds(
        keyed_event_id(target.salt, *parts),
        keyed_event_id(target.salt, *parts, window),
        keyed_event_id(target.salt, *parts, window - 1),
    )


def stored_event_time(conn: Connection, site_id: int, client_event_id: str) -> int | None:
    """The time of the site's stored event with this id (ClickHouse: ingest/clickhouse/reads.py)."""
    stmt = select(events.c.ts).where(events.c.site_id == site_id, events.c.client_event_id == client_event_id)
    stored = conn.execute(stmt).scalar()
    return None if stored is None else int(stored)


def to_pending(
    target: TrackTarget,
    track: TrackInput,
    *,
    event_id: str,
    ts: int,
    ip: str,
    user_agent: str,
    language: str | None,
) -> PendingEvent:
    data = track.data
    conversion = track.event_type == "conversion"
    props: dict[str, Any] = {
        "experiment": target.experiment_slug,
        "variant": target.variant_slug,
        "variant_id": target.variant_id,
    }
    props.update((key, value) for key, value in data.items() if key not in NOT_PROPS)
    band = track.band
    if band is not None:
        props["scroll_band"] = band
    side = {
        "experiment_id": target.experiment_id,
        "variant_id": target.variant_id,
        "ts": ts,
        "visitor_key": visitor_key(target.salt, track.visitor_id),
        "type": track.event_type,
        "element": track.element,
        "scroll_band": band,
        "amount_cents": data.get("amount_cents") if conversion else None,
    }
    return PendingEvent(
        domain=target.domain,
        name="pageview" if track.event_type == "page_view" else f"ab:{track.event_type}",
        url=f"https://{target.domain}{data.get('path', '/')}",
        referrer=data.get("referrer"),
        props=orjson.dumps(props).decode(),
        interactive=track.event_type not in ("page_view", "scroll_depth"),
        event_id=event_id,
        revenue=data["amount_cents"] / 100 if conversion else None,
        currency=data.get("currency", target.currency) if conversion else None,
        transaction_id=None,  # the checkout id only keys the dedup; it is not stored
        items=None,
        engagement_ms=None,
        scroll_depth=None,
        language=language,
        hash_routing=False,
        ts=ts,
        ip=ip,
        user_agent=user_agent,
        side_row=SideRow(experiment_events, side),
    )
