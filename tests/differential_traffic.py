"""Seeded traffic and accounts for the SQLite vs PostgreSQL differential test.

Two tenants: "east" in Europe/Berlin (berlin.test in the tenant's zone, tokyo.test in Asia/Tokyo)
and "west" in America/Los_Angeles (la.test, sf.test). Traffic in two windows, each over the
daylight-saving changes of that season (March: Los Angeles on the 8th, Berlin on the 29th;
October/November: Berlin on Oct 25, Los Angeles on Nov 1), from `rollup_traffic.Traffic`: visits
across local midnight, engagement, custom and e-commerce events, purchases in EUR and USD on every
site, referrers and UTM tags. On top: event ids, a tenth of the events arriving late (after newer
ones, up to weeks later), and resent events (the same event_id, or a purchase's transaction_id
under a new id) that must be stored once.

Both databases get the same rows wherever the product would draw them at random: the same daily
salts (visitor ids hash them) and the same goal ids (ULIDs).
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from analytics_mcp.ingest.bulk_import import ImportSummary, ingest_events
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.account_types import Tenant
from analytics_mcp.storage.schema import goals, salts
from analytics_mcp.timeutil import utcnow_iso
from rollup_traffic import Traffic

SEED = 13
NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)  # what every relative period ends at
WINDOWS = (  # (first, last) instants of generated visits; the last window ends before NOW
    (datetime(2026, 2, 25, tzinfo=UTC), datetime(2026, 4, 6, tzinfo=UTC)),
    (datetime(2026, 10, 6, tzinfo=UTC), datetime(2026, 11, 20, 17, 40, tzinfo=UTC)),
)
# domain -> (tenant, tenant zone, the site's own zone or None for the tenant's, currency, visits, visitors)
SITES: dict[str, tuple[str, str, str | None, str, int, int]] = {
    "berlin.test": ("east", "Europe/Berlin", None, "EUR", 190, 16),
    "tokyo.test": ("east", "Europe/Berlin", "Asia/Tokyo", "USD", 90, 8),
    "la.test": ("west", "America/Los_Angeles", None, "EUR", 190, 16),
    "sf.test": ("west", "America/Los_Angeles", None, "USD", 90, 8),
}
GOALS: tuple[dict[str, str], ...] = (
    {"name": "Pricing", "path": "/pricing"},
    {"name": "Blog", "path": "/blog/", "match_type": "prefix"},
    {"name": "Signup", "event": "signup"},
    {"name": "Buy", "event": "purchase"},
)
# Non-ASCII capitals in paths (stored as sent, not percent-decoded): case-insensitive filters.
RENAMED = {"/b": "/Über", "/blog/y": "/blog/CAFÉ"}
LATE_SHARE = 0.1
RESENT_SHARE = 0.04


@dataclass(frozen=True)
class Batches:
    chunks: list[list[dict[str, Any]]]
    events: int  # distinct events (what must be stored)
    resent: int  # duplicates among the chunks' events


def generate() -> Batches:
    """The events in arrival order, cut into ingestion batches: the same on every call."""
    rng = random.Random(SEED)
    events: list[dict[str, Any]] = []
    for index, (first, last) in enumerate(WINDOWS):
        traffic = Traffic(seed=SEED * 10 + index, first=first, last=last)
        for domain, (_tenant, tenant_zone, zone, _currency, visits, visitors) in SITES.items():
            traffic.site(domain, ZoneInfo(zone or tenant_zone), visits=visits, visitors=visitors)
        events += traffic.events
    for number, event in enumerate(events):
        if number % 7:  # the rest are deduplicated by their content alone
            event["event_id"] = f"e{number}"
        event["url"] = _renamed(event["url"])
        if event["name"] == "purchase" and "transaction_id" in event:
            event["transaction_id"] = f"T{number}"  # Traffic numbers them process-wide
            _in_cents(event, rng)
    ordered = sorted(events, key=lambda e: e["timestamp"])
    late = [e for e in ordered if rng.random() < LATE_SHARE]
    late_ids = {id(e) for e in late}
    arrival = [e for e in ordered if id(e) not in late_ids] + late
    resent = [_resend(e) for e in arrival if e.get("event_id") and rng.random() < RESENT_SHARE]
    for copy in resent:  # each copy arrives somewhere after its original
        first_id = copy["event_id"].removesuffix("/again")
        original = next(i for i, e in enumerate(arrival) if e.get("event_id") == first_id)
        arrival.insert(rng.randint(original + 1, len(arrival)), copy)
    chunks, start = [], 0
    while start < len(arrival):
        size = rng.randint(30, 250)
        chunks.append(arrival[start : start + size])
        start += size
    return Batches(chunks=chunks, events=len(events), resent=len(resent))


def _renamed(url: str) -> str:
    """The URL with its path renamed by RENAMED (query string kept)."""
    page, mark, tags = url.partition("?")
    scheme, _empty, host, path = page.split("/", 3)
    path = RENAMED.get(f"/{path}", f"/{path}")
    return f"{scheme}//{host}{path}{mark}{tags}"


def _in_cents(purchase: dict[str, Any], rng: random.Random) -> None:
    """Prices in cents and a total with tax at three decimals (Traffic's are exact quarters)."""
    items = purchase.get("items") or []
    for item in items:
        item["price"] = rng.randint(1, 9999) / 100
    revenue = purchase.get("revenue")
    if revenue is not None:
        net = sum(item["price"] * item["quantity"] for item in items) or rng.randint(1, 9999) / 100
        revenue["amount"] = round(net * rng.choice((1, 1, 1.19, 1.07)), 3)


def _resend(event: dict[str, Any]) -> dict[str, Any]:
    """The same event again; a purchase with a transaction id comes back under a new event id."""
    copy = dict(event)
    if "transaction_id" in copy:
        copy["event_id"] = f"{event['event_id']}/again"
    return copy


def add_accounts(services: Services, goal_rows: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Tenants, sites and goals. Goals are added through `accounts.add_goal` unless `goal_rows`
    (another database's, read back) are given: then those rows, so goal ids agree."""
    with services.db.sync.begin() as conn:
        for domain, (slug, tenant_zone, zone, currency, *_counts) in SITES.items():
            if accounts.get_tenant(conn, slug) is None:
                accounts.create_tenant(conn, slug, timezone=tenant_zone)
            accounts.add_site(conn, slug, domain, timezone=zone, currency=currency)
        if goal_rows is not None:
            conn.execute(insert(goals), goal_rows)
        else:
            for domain in SITES:
                for goal in GOALS:
                    accounts.add_goal(conn, domain, **goal)
        return [dict(row) for row in conn.execute(select(goals).order_by(goals.c.id)).mappings()]


def seed_salts(services: Services) -> None:
    """A salt per UTC day of the traffic, derived from the seed (the product draws them at random)."""
    created_at = utcnow_iso()  # kept by the salt cleanup for the hour after now
    rows = []
    for first, last in WINDOWS:
        day = first.date() - timedelta(days=1)
        while day <= last.date() + timedelta(days=1):
            salt = hashlib.blake2b(f"{SEED}/{day}".encode(), digest_size=16).digest()
            rows.append({"day": day.isoformat(), "salt": salt, "created_at": created_at})
            day += timedelta(days=1)
    with services.events_db.sync.begin() as conn:  # salts live with the events
        conn.execute(insert(salts), rows)


def ingest(services: Services, batches: Batches) -> ImportSummary:
    """Every batch through the real ingestion (validation, dedup, visits, goals, rollups)."""
    total = ImportSummary()
    for chunk in batches.chunks:
        summary = ingest_events(services.ingestor, chunk)
        assert (summary.rejected, summary.errors) == (0, []), summary
        total.accepted += summary.accepted
        total.duplicate += summary.duplicate
        total.dropped += summary.dropped
    return total


def tenants(services: Services) -> dict[str, Tenant]:
    with services.db.sync.connect() as conn:
        found = {slug: accounts.get_tenant(conn, slug) for slug in ("east", "west")}
    return {slug: tenant for slug, tenant in found.items() if tenant is not None}


DST_DAYS = {  # the local days clocks change in the windows
    "America/Los_Angeles": (date(2026, 3, 8), date(2026, 11, 1)),
    "Europe/Berlin": (date(2026, 3, 29), date(2026, 10, 25)),
}


def features(batches: Batches) -> Counter[str]:
    """How much of each thing the issue asks for the traffic holds."""
    seen: Counter[str] = Counter()
    newest = ""
    last: dict[tuple[str, str, str], datetime] = {}
    for event in (e for chunk in batches.chunks for e in chunk):
        at = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
        seen["late by a day or more"] += newest > (at + timedelta(days=1)).isoformat()
        newest = max(newest, at.isoformat())
        slug, tenant_zone, zone, currency, *_counts = SITES[event["domain"]]
        local = at.astimezone(ZoneInfo(zone or tenant_zone))
        who = (event["domain"], event["ip"], event["user_agent"])
        before = last.get(who)
        if before is not None and timedelta(0) < at - before < timedelta(minutes=30):
            seen["crossing local midnight"] += before.astimezone(local.tzinfo).date() < local.date()
        last[who] = at
        seen["on a DST change day"] += local.date() in DST_DAYS.get(zone or tenant_zone, ())
        revenue = event.get("revenue") or {}
        seen["USD purchases on EUR sites"] += revenue.get("currency") == "USD" and currency == "EUR"
        seen[f"tenant {slug}"] += 1
        seen[event["name"]] += 1
        seen["UTM tagged"] += "utm_" in event["url"]
        seen["referred"] += bool(event.get("referrer"))
    seen["resent"] = batches.resent
    return seen
