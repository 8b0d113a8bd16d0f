"""Which sites exist and their goals, as the pipeline needs them, cached for a few seconds."""

from __future__ import annotations

import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from analytics_mcp.ingest.goals import GoalMatcher, build_matcher
from analytics_mcp.storage import accounts
from analytics_mcp.storage.account_rules import site_key

CACHE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class SiteInfo:
    id: int
    tenant_id: int  # plan quotas count per tenant (ingest/quota.py)
    domain: str
    currency: str
    zone: ZoneInfo  # the site's report zone (rollup days)
    goals: tuple[GoalMatcher, ...]


class SiteRegistry:
    """domain -> SiteInfo; unknown domains are remembered too, so junk traffic costs no query."""

    def __init__(self, accounts: Engine | None = None, ttl: float = CACHE_SECONDS) -> None:
        """`accounts`: where sites and goals live when the events are in another database
        (storage/roles.py); None reads them on the connection a lookup is given."""
        self._accounts = accounts
        self._ttl = ttl
        self._entries: dict[str, tuple[float, SiteInfo | None]] = {}

    def lookup(self, conn: Connection, domain: str) -> SiteInfo | None:
        """The site `domain` names, however it is spelled (`site_key`), cached under its key."""
        key = site_key(domain)
        if key is None:
            return None
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        if self._accounts is None:
            info = self._load(conn, key)
        else:
            with self._accounts.connect() as accounts_conn:
                info = self._load(accounts_conn, key)
        self._entries[key] = (now, info)
        return info

    def invalidate(self) -> None:
        self._entries.clear()

    @staticmethod
    def _load(conn: Connection, domain: str) -> SiteInfo | None:
        site = accounts.get_site(conn, domain)  # None for unknown and malformed domains alike
        if site is None:
            return None
        matchers = tuple(
            build_matcher(g.id, g.type, g.match_type, g.path, g.event_name)
            for g in accounts.list_goals(conn, [site.id], active_only=True)
        )
        return SiteInfo(
            id=site.id,
            tenant_id=site.tenant_id,
            domain=site.domain,
            currency=site.currency,
            zone=ZoneInfo(site.timezone),
            goals=matchers,
        )
