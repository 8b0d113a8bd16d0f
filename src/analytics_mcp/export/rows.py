"""Database rows -> export rows: dicts whose keys are exactly the table's columns, in order.

One function per table, each a single dict display per row (this is the hot loop of a million-row
export). Tests check every key list against `tables.TABLES`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from analytics_mcp.export.encode import Formatter, duration_seconds, visitor_hash
from analytics_mcp.storage.account_types import Goal

Row = dict[str, Any]
Items = Mapping[int, list[dict[str, Any]]]


class Shaper:
    """Shapes the rows of one export; `domains` maps the export's site ids to their domains."""

    def __init__(self, formatter: Formatter, domains: Mapping[int, str]) -> None:
        self.fmt = formatter
        self.domains = domains

    def pageviews(self, rows: Sequence[tuple[Any, ...]]) -> list[Row]:
        ulid, iso, session, domains = self.fmt.ulid, self.fmt.iso, self.fmt.session, self.domains
        return [
            {
                "id": ulid(ts, row_id),
                "visitor_hash": visitor_hash(visitor),
                "hostname": hostname,
                "pathname": pathname,
                "device_type": device,
                "duration": duration_seconds(engaged, gap),
                "created_at": iso(ts),
                "session_hash": session(visit),
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
                "scroll_depth": scroll,
                "props": None if props is None else orjson.loads(props),
                "site": domains[site],
            }
            for (
                ts, row_id, visitor, hostname, pathname, device, engaged, gap, visit, entry, referrer,
                source, channel, utm_source, utm_medium, utm_campaign, utm_content, utm_term, browser,
                os, language, country, scroll, props, site,
            ) in rows
        ]  # fmt: skip

    def goal_completions(self, rows: Sequence[tuple[Any, ...]]) -> list[Row]:
        ulid, iso, session, domains = self.fmt.ulid, self.fmt.iso, self.fmt.session, self.domains
        return [
            {
                "id": ulid(ts, row_id),
                "goal_id": goal_id,
                "visitor_hash": visitor_hash(visitor),
                "pageview_id": ulid(ts, event_id),  # a completion has its event's time
                "created_at": iso(ts),
                "session_hash": session(visit),
                "site": domains[site],
            }
            for ts, row_id, goal_id, visitor, event_id, visit, site in rows
        ]

    def ecommerce_events(self, rows: Sequence[tuple[Any, ...]], items: Items) -> list[Row]:
        ulid, iso, session, domains = self.fmt.ulid, self.fmt.iso, self.fmt.session, self.domains
        return [
            {
                "id": ulid(ts, row_id),
                "visitor_hash": visitor_hash(visitor),
                "session_hash": session(visit),
                "event_type": name,
                "transaction_id": transaction_id,
                "value": value,
                "currency": currency,
                "items": items.get(row_id, []),
                "created_at": iso(ts),
                "site": domains[site],
            }
            for ts, row_id, visitor, visit, name, transaction_id, value, currency, site in rows
        ]

    def goals(self, goals: Sequence[Goal]) -> list[Row]:
        return [
            {
                "id": goal.id,
                "name": goal.name,
                "type": goal.type,
                "config": goal.config(),
                "is_active": goal.is_active,
                "created_at": goal.created_at,
                "site": self.domains[goal.site_id],
            }
            for goal in goals
        ]
