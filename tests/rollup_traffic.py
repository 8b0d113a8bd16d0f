"""Random but reproducible traffic for the rollup property tests: visitors coming back over weeks,
visits across local midnight, pageviews with engagement, custom and e-commerce events, purchases in
two currencies (and without revenue) with items, UTM-tagged and referred visits."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from factories import CHROME_WIN, FIREFOX_LINUX, SAFARI_IPHONE

PATHS = ("/", "/a", "/b", "/Z", "/blog/x", "/blog/y", "/pricing", "/signup", "/é")
REFERRERS = (
    None,
    None,
    "https://www.google.com/",
    "https://www.bing.com/search?q=x",
    "https://news.ycombinator.com/item",
    "https://example.org/page",
)
TAGS = (
    "",
    "",
    "",
    "?utm_source=news&utm_medium=email&utm_campaign=fall",
    "?utm_campaign=fall",
    "?utm_source=x",
)
LANGUAGES = (None, "en-US", "de", "fr-FR")
AGENTS = (CHROME_WIN, SAFARI_IPHONE, FIREFOX_LINUX)
ITEMS = ("Mug", "Shirt", "Cap", "mug")
# Prices in quarters: exact in binary, so float sums do not depend on their order.
_tx = itertools.count(1)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# Client networks: countries (the bundled database: US, NL, GB, DE, FR) and a documentation
# network without one (198.51.100.0/24), so country breakdowns and filters see values and nulls.
NETWORKS = ("198.51.100", "8.8.8", "193.0.6", "81.2.69", "194.0.0", "217.70.184")


class Traffic:
    def __init__(self, seed: int, first: datetime, last: datetime) -> None:
        self.rng = random.Random(seed)
        self.first, self.last = first, last
        self.events: list[dict[str, Any]] = []

    def _start(self, zone: ZoneInfo) -> datetime:
        span = (self.last - self.first).total_seconds()
        start = self.first + timedelta(seconds=self.rng.uniform(0, span))
        if self.rng.random() < 0.25:  # just before local midnight: the visit runs into the next day
            local = start.astimezone(zone).replace(hour=23, minute=self.rng.randint(30, 58))
            start = local.astimezone(UTC)
        return min(start, self.last)

    def site(self, domain: str, zone: ZoneInfo, *, visits: int, visitors: int) -> None:
        for _ in range(visits):
            who = self.rng.randint(1, visitors)
            self.visit(domain, zone, who)

    def visit(self, domain: str, zone: ZoneInfo, who: int) -> None:
        rng = self.rng
        at = self._start(zone)
        base = {
            "domain": domain,
            "ip": f"{NETWORKS[who % len(NETWORKS)]}.{who}",
            "user_agent": AGENTS[who % len(AGENTS)],
        }
        first = {"referrer": rng.choice(REFERRERS), "language": rng.choice(LANGUAGES)}
        tag = rng.choice(TAGS)
        path = rng.choice(PATHS)
        shopper = rng.random() < 0.2  # walks the funnel in order (view, cart, checkout, purchase)
        for index in range(rng.randint(1, 7)):
            if index:
                at += timedelta(seconds=rng.randint(20, 25 * 60))
            if at > self.last:
                return
            kind = "pageview" if index == 0 and rng.random() < 0.9 else self._kind()
            if shopper and index:
                kind = ("view_item", "add_to_cart", "begin_checkout", "purchase", "pageview")[
                    min(index - 1, 4)
                ]
            if kind == "pageview":
                path = rng.choice(PATHS)
            event = {**base, "name": kind, "timestamp": iso(at), "url": f"https://{domain}{path}"}
            if index == 0:
                event.update(first)
                event["url"] += tag
            event.update(self._details(kind))
            if kind == "click":  # custom event properties (text and number), without drawing from rng
                event["props"] = {"target": path, "depth": index % 3}
            self.events.append(event)

    def _kind(self) -> str:
        roll = self.rng.random()
        if roll < 0.5:
            return "pageview"
        if roll < 0.65:
            return "engagement"
        if roll < 0.75:
            return self.rng.choice(("signup", "click"))
        if roll < 0.85:
            return self.rng.choice(("view_item", "add_to_cart", "begin_checkout"))
        return "purchase"

    def _details(self, kind: str) -> dict[str, Any]:
        rng = self.rng
        if kind == "engagement":
            return {"engagement_ms": rng.randint(0, 120_000), "scroll_depth": rng.randint(0, 100)}
        if kind != "purchase":
            return {}
        items = [
            {"item_name": rng.choice(ITEMS), "price": rng.randint(0, 400) / 4, "quantity": rng.randint(1, 3)}
            for _ in range(rng.randint(0, 3))
        ]
        details: dict[str, Any] = {"transaction_id": f"T{next(_tx)}", "items": items}
        if rng.random() < 0.9:
            amount = sum(i["price"] * i["quantity"] for i in items) or rng.randint(1, 200) / 4
            details["revenue"] = {"amount": amount, "currency": rng.choice(("EUR", "EUR", "USD"))}
        return details

    def in_chunks(self, *, late: bool) -> list[list[dict[str, Any]]]:
        """Batches in time order, of random sizes; with `late`, a tenth of the events arrive in a
        last batch, after later ones."""
        ordered = sorted(self.events, key=lambda e: e["timestamp"])
        held = [e for e in ordered if late and self.rng.random() < 0.1]
        held_ids = {id(e) for e in held}
        kept = [e for e in ordered if id(e) not in held_ids]
        chunks, start = [], 0
        while start < len(kept):
            size = self.rng.randint(20, 150)
            chunks.append(kept[start : start + size])
            start += size
        return [*chunks, held] if held else chunks
