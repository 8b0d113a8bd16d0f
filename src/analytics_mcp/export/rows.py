"""Database rows -> export rows, as (head, tail) pairs: `head` is a dict of the row's own columns,
`tail` the columns it shares with other rows (a pageview's visit attributes), already encoded by
the writer, or None. Keys of head then tail are exactly the table's columns, in order (tests check
them against `tables.TABLES`).

A visit's tail is encoded once, not once per pageview: in a million-row export this halves the
work. Rows are produced lazily and encoded one by one, so no chunk of row dicts is ever held.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

import orjson

from analytics_mcp.engine.goals import visitor_hash
from analytics_mcp.export.encode import Cache, Formatter, remember
from analytics_mcp.storage.account_types import Goal

VISIT_CACHE = 1024  # visits kept between chunks (~2 KB each): their pageviews are close in time


Shaped = tuple[dict[str, Any], Any]  # (head, the writer's encoding of the tail, or None)
Items = Mapping[int, list[dict[str, Any]]]
TailEncoder = Callable[[dict[str, Any]], Any]
Visit = tuple[str, str, Any]  # visitor_hash, device_type, encoded tail: what pageviews take


class VisitReads(Protocol):
    def visit_rows(self, visit_ids: Sequence[int]) -> list[tuple[Any, ...]]:
        """The exported attributes of these visits (queries._VISIT_COLUMNS), any row order."""
        ...


class Shaper:
    """Shapes the rows of one export; `domains` maps the export's site ids to their domains."""

    def __init__(self, formatter: Formatter, domains: Mapping[int, str], encode_tail: TailEncoder) -> None:
        self.fmt = formatter
        self.domains = domains
        self.encode_tail = encode_tail
        self._visits: Cache[Visit] = OrderedDict()

    def visits_of(self, reads: VisitReads, rows: Sequence[tuple[Any, ...]]) -> dict[int, Visit]:
        """The visits of these pageview rows (visit id is column 2), read once and remembered."""
        wanted = {row[2] for row in rows}
        found = {visit_id: self._visits[visit_id] for visit_id in wanted if visit_id in self._visits}
        for row in reads.visit_rows(sorted(wanted - found.keys())):
            found[row[0]] = remember(self._visits, row[0], self._visit(row), VISIT_CACHE)
        return found

    def _visit(self, row: Sequence[Any]) -> Visit:
        (visit_id, visitor, site, device, entry, referrer, source, channel, utm_source, utm_medium,
         utm_campaign, utm_content, utm_term, browser, os, language, country) = row  # fmt: skip
        tail = {
            "session_hash": self.fmt.session_uncached(visit_id),  # cached with the visit
            "entry_page": entry,
            "referrer": referrer,
            "source": source,
            "channel": channel,
            "utm_source": utm_source,
            "utm_medium": utm_medium,
            "utm_campaign": utm_campaign,
            "utm_content": utm_content,
            "utm_term": utm_term,
            "browser": browser,
            "os": os,
            "language": language,
            "country": country,
            "site": self.domains[site],
        }
        return visitor_hash(visitor), device, self.encode_tail(tail)

    def pageviews(self, rows: Sequence[tuple[Any, ...]], visits: Mapping[int, Visit]) -> Iterator[Shaped]:
        ulid, iso, loads = self.fmt.ulid, self.fmt.iso, orjson.loads
        for ts, row_id, visit_id, hostname, pathname, duration, scroll, props in rows:
            visit = visits.get(visit_id)
            if visit is None:
                # ClickHouse only: a batch's events are inserted before its visits, so a pageview
                # whose visit is not visible yet belongs to a batch still being stored; it is left
                # to the next export rather than shown without its visit.
                continue
            visitor, device, tail = visit
            head = {
                "id": ulid(ts, row_id),
                "visitor_hash": visitor,
                "hostname": hostname,
                "pathname": pathname,
                "device_type": device,
                "duration": duration,  # see queries.DURATION
                "created_at": iso(ts),
                "scroll_depth": scroll,
                "props": None if props is None else loads(props),
            }
            yield head, tail

    def goal_completions(self, rows: Sequence[tuple[Any, ...]], _extra: object = None) -> Iterator[Shaped]:
        ulid, iso, session = self.fmt.ulid, self.fmt.iso, self.fmt.session
        for ts, row_id, goal_id, visitor, event_id, visit_id, site in rows:
            head = {
                "id": ulid(ts, row_id),
                "goal_id": goal_id,
                "visitor_hash": visitor_hash(visitor),
                "pageview_id": ulid(ts, event_id),  # a completion has its event's time
                "created_at": iso(ts),
                "session_hash": session(visit_id),
                "site": self.domains[site],
            }
            yield head, None

    def ecommerce_events(self, rows: Sequence[tuple[Any, ...]], items: Items) -> Iterator[Shaped]:
        ulid, iso, session = self.fmt.ulid, self.fmt.iso, self.fmt.session
        for ts, row_id, visitor, visit_id, name, transaction_id, value, currency, site in rows:
            head = {
                "id": ulid(ts, row_id),
                "visitor_hash": visitor_hash(visitor),
                "session_hash": session(visit_id),
                "event_type": name,
                "transaction_id": transaction_id,
                "value": value,
                "currency": currency,
                "items": items.get(row_id, []),
                "created_at": iso(ts),
                "site": self.domains[site],
            }
            yield head, None

    def goals(self, goals: Sequence[Goal]) -> Iterator[Shaped]:
        for goal in goals:
            head = {
                "id": goal.id,
                "name": goal.name,
                "type": goal.type,
                "config": goal.config(),
                "is_active": goal.is_active,
                "created_at": goal.created_at,
                "site": self.domains[goal.site_id],
            }
            yield head, None
