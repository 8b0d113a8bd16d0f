"""Realistic synthetic traffic in the server-side batch format (`POST /api/v1/events`).

Visits are drawn window by window (daily and weekly cycles, slow growth, noise), each one a walk
over the demo site's pages with engagement reports, custom events and sometimes a shop funnel.
Events of overlapping visits are merged into time order through a small pending list: a window's
events are released once no later visit can start before them. Timestamps and event ids are
written at that point, from string tables, because formatting a datetime per event would
dominate the cost (the engine benchmark generates ten million events).
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import chain
from operator import itemgetter
from typing import Any

from analytics_mcp.demo.catalog import IPV4_FIRST_OCTETS, Source
from analytics_mcp.demo.model import CustomRule, Model, build_model
from analytics_mcp.demo.shop import Shop, Visitor
from analytics_mcp.timeutil import DAY_MS, HOUR_MS

WINDOW_MS = 5 * 60_000  # divides an hour, so a window's events share one "YYYY-MM-DDTHH:" prefix
# Share of a day's visits per UTC hour: a European afternoon/evening peak, Americans at night.
HOUR_WEIGHTS = (
    1.6, 1.1, 0.8, 0.6, 0.6, 0.9, 1.6, 2.6, 3.6, 4.3, 4.7, 5.0,
    5.2, 5.5, 5.8, 6.0, 6.1, 6.0, 5.8, 5.6, 5.2, 4.4, 3.3, 2.3,
)  # fmt: skip
HOUR_SHARE = tuple(w / sum(HOUR_WEIGHTS) for w in HOUR_WEIGHTS)
WEEKEND_FACTOR = 0.65
WEEK_MEAN = (5 + 2 * WEEKEND_FACTOR) / 7  # keeps daily_visitors the average over a week
# Slow exponential growth towards `end`: x0.8 ninety days earlier, so daily_visitors is the mean
# over the default period, and a short sample near `end` does not grow absurdly fast.
GROWTH_AT_END = 1.15
GROWTH_PER_DAY = 0.004
ENGAGEMENT_RATE = 0.9
SHOP_RATE = 0.08
RETURN_RATE = 0.02
DIRECT = Source(0.0, None, "")

_MMSS = tuple(f"{m:02d}:{s:02d}" for m in range(60) for s in range(60))
_MILLIS = tuple(f".{ms:03d}Z" for ms in range(1000))
_TS = itemgetter(0)


def generate_events(
    domain: str,
    *,
    days: int = 90,
    end: datetime | None = None,
    daily_visitors: int = 800,
    seed: int = 7,
) -> Iterator[dict[str, Any]]:
    """Batch-format events for `domain` over the `days` before `end` (default now), in time order.

    `daily_visitors` is the mean over a 90-day period (traffic grows slowly towards `end`).
    Deterministic for a given domain, seed and end; event ids differ between those, so two
    generated data sets never collide as duplicates in one database.
    """
    if days < 0 or daily_visitors < 0:
        raise ValueError("days and daily_visitors must not be negative")
    end = end or datetime.now(UTC)
    end_ms = int((end if end.tzinfo else end.replace(tzinfo=UTC)).timestamp() * 1000)
    rng = random.Random(f"{seed}:{domain}:{end_ms}")
    traffic = _Traffic(build_model(domain), rng, end_ms)
    # Chunks of ready events, flattened in C: one generator frame per window, not per event.
    return chain.from_iterable(traffic.run(end_ms - days * DAY_MS, daily_visitors))


class _Traffic:
    def __init__(self, model: Model, rng: random.Random, end_ms: int) -> None:
        self.m = model
        self.rng = rng
        self.random = rng.random
        self.bits = rng.getrandbits
        self.end_ms = end_ms
        self.pending: list[tuple[int, dict[str, Any]]] = []
        self.add = self.pending.append
        self.ids = random.Random(rng.getrandbits(64)).getrandbits
        self.shop = Shop(model, rng, self.add)
        self.day_noise: dict[int, float] = {}

    def run(self, start_ms: int, daily_visitors: int) -> Iterator[list[dict[str, Any]]]:
        hour, factor, prefix = -1, 0.0, ""
        for w0 in range(start_ms - start_ms % WINDOW_MS, self.end_ms + 1, WINDOW_MS):
            lo, hi = max(w0, start_ms), min(w0 + WINDOW_MS, self.end_ms + 1)
            if w0 // HOUR_MS != hour:
                hour = w0 // HOUR_MS
                factor = self._hour_factor(hour)
                prefix = datetime.fromtimestamp(hour * 3600, UTC).strftime("%Y-%m-%dT%H:")
            growth = GROWTH_AT_END * math.exp(-GROWTH_PER_DAY * (self.end_ms - lo) / DAY_MS)
            expected = daily_visitors * growth * factor * (hi - lo) / HOUR_MS
            for _ in range(int(expected + self.random())):
                self.visit(lo + int(self.random() * (hi - lo)), self._visitor(), returning=False)
            yield self._flush(prefix, hour * HOUR_MS, hi)

    def _hour_factor(self, hour: int) -> float:
        """Visits per hour relative to daily_visitors: daily and weekly cycles with noise."""
        day = hour // 24
        if day not in self.day_noise:
            self.day_noise[day] = max(0.5, self.rng.gauss(1.0, 0.08))
        weekend = (day + 3) % 7 >= 5  # 1970-01-01 was a Thursday
        week = (WEEKEND_FACTOR if weekend else 1.0) / WEEK_MEAN
        hourly = 0.85 + 0.3 * self.random()
        return self.day_noise[day] * week * HOUR_SHARE[hour % 24] * hourly

    def _visitor(self) -> Visitor:
        bits = self.bits
        octet = IPV4_FIRST_OCTETS[bits(12) % len(IPV4_FIRST_OCTETS)]
        rest = bits(24)
        ip = f"{octet}.{rest >> 16}.{(rest >> 8) & 255}.{1 + (rest & 255) % 254}"
        return Visitor(ip, self.m.user_agents[bits(12)], self.m.languages[bits(12)])

    def visit(self, start: int, visitor: Visitor, *, returning: bool) -> None:
        m, bits, page_view = self.m, self.bits, self.page
        source = DIRECT if returning else m.sources[bits(12)]
        page = m.entry[bits(12)]
        url, ref = m.urls[page] + source.query, source.referrer
        views = m.pageviews[bits(12)]
        shop = self.random() < SHOP_RATE
        t = start
        for i in range(views):
            leave = i == views - 1 and not shop
            dwell = m.exits[bits(12)] if leave else m.gaps[bits(12)] + bits(10)
            page_view(visitor, url, ref, t, dwell, leave)
            section = m.section_of[page]
            if (draw := self.random()) < m.custom_rate[section]:
                self._custom(visitor, url, ref, t, dwell, m.custom[section], draw)
            t += dwell
            ref = url
            page = m.next_page[section][bits(12)]
            url = m.urls[page]
        if shop:
            t = self.shop.run(visitor, ref, t, page_view)
        if not returning and self.random() < RETURN_RATE:
            self._return_later(start, t, visitor)

    def page(self, visitor: Visitor, url: str, ref: str | None, t: int, dwell: int, leave: bool) -> None:
        """A pageview at t, and usually its engagement report when the page is left."""
        ip, ua, lang = visitor
        domain = self.m.domain
        self.add((t, {"name": "pageview", "url": url, "domain": domain, "referrer": ref,
                      "language": lang, "ip": ip, "user_agent": ua}))  # fmt: skip
        if self.random() < ENGAGEMENT_RATE:
            bits, m = self.bits, self.m
            at = t + dwell - (0 if leave else 20 + bits(8))  # sent just before the next page loads
            self.add((at, {"name": "engagement", "url": url, "domain": domain, "referrer": ref,
                           "language": lang, "ip": ip, "user_agent": ua,
                           "engagement_ms": int(dwell * m.engaged[bits(12)]),
                           "scroll_depth": m.scroll[bits(12)]}))  # fmt: skip

    def _custom(
        self,
        visitor: Visitor,
        url: str,
        ref: str | None,
        t: int,
        dwell: int,
        rules: tuple[CustomRule, ...],
        draw: float,
    ) -> None:
        for limit, name, props, interactive in rules:
            if draw < limit:
                event = self.shop.event(name, url, ref, visitor)
                if props:
                    event["props"] = dict(props)
                if interactive is not None:
                    event["interactive"] = interactive
                self.add((t + int(dwell * (0.3 + 0.4 * self.random())), event))
                return

    def _return_later(self, start: int, last: int, visitor: Visitor) -> None:
        """The same person (ip + UA) back the same UTC day, after the 30-minute visit gap."""
        at = last + 31 * 60_000 + self.bits(24)  # up to ~4.7 hours later
        if at // DAY_MS == start // DAY_MS and at <= self.end_ms:
            self.visit(at, visitor, returning=True)

    def _flush(self, prefix: str, h0: int, upto: int) -> list[dict[str, Any]]:
        """Pending events before `upto` (all within the hour h0 whose ISO prefix is given)."""
        pending = self.pending
        pending.sort(key=_TS)
        cut = bisect_left(pending, upto, key=_TS)
        ready = pending[:cut]
        del pending[:cut]
        ids = self.ids
        for ts, event in ready:
            offset = ts - h0
            event["timestamp"] = prefix + _MMSS[offset // 1000] + _MILLIS[offset % 1000]
            event["event_id"] = ids(128).to_bytes(16).hex()
        return [event for _, event in ready]
