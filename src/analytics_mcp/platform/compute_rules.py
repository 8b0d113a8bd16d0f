"""Who matches a segment's rules on one local day (docs/platform.md, "Computing").

Trait and first-seen rules are decided in Python over the tenant's profiles (read once per run);
behaviour rules are one grouped SQL statement each over the identified events of the tenant's
sites (the partial index ix_events_identified), cached per run so segments sharing a rule share
its query. Everything is a set of profile ids: `all` intersects, `any` unites.

Traits are taken as stored at computation time (profiles keep no trait history); behaviour
windows end with the computed day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import Connection, Select, and_, func, or_, select

from analytics_mcp.platform.segment_rules import (
    BehaviourRule,
    EventRule,
    FirstSeenRule,
    PageRule,
    RevenueRule,
    TraitRule,
    VisitRule,
)
from analytics_mcp.storage.platform_schema import profiles
from analytics_mcp.storage.schema import events, visits
from analytics_mcp.timeutil import local_midnight_ms

Members = frozenset[int]


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose profiles and events, and which day: the tenant's sites (id -> currency) and zone."""

    tenant_id: int
    sites: dict[int, str]
    zone: ZoneInfo
    day: date

    def window(self, days: int) -> tuple[int, int]:
        """[start, end) in epoch ms of the `days` local days ending with `day`."""
        first = self.day - timedelta(days=days - 1)
        return local_midnight_ms(first, self.zone), local_midnight_ms(self.day + timedelta(days=1), self.zone)


class Evaluator:
    """Sets of matching profile ids for one tenant and day; one per computation run."""

    def __init__(self, conn: Connection, scope: Scope) -> None:
        self._conn = conn
        self.scope = scope
        self._cache: dict[str, Members] = {}
        self._ids: dict[str, int] | None = None
        self._traits: dict[int, dict[str, Any]] | None = None
        self._first_seen: dict[int, int | None] = {}
        self._names: list[str] | None = None

    def members(self, match: str, rules: Sequence[Any]) -> Members:
        sets = [self.matching(rule) for rule in rules]
        if match == "any":
            return frozenset().union(*sets)
        return frozenset.intersection(*sets) if sets else frozenset()

    def matching(self, rule: Any) -> Members:
        key = rule.model_dump_json()
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._evaluate(rule)
        return found

    @property
    def everyone(self) -> Members:
        return frozenset(self._profile_ids().values())

    def _evaluate(self, rule: Any) -> Members:
        if isinstance(rule, TraitRule):
            traits = self._all_traits()
            return frozenset(pid for pid, t in traits.items() if trait_matches(rule, t))
        if isinstance(rule, FirstSeenRule):
            return self._first_seen_matches(rule)
        if isinstance(rule, RevenueRule) and rule.op == "lt":  # no purchase at all is a sum of 0
            at_least = RevenueRule(type="revenue", op="gt", value=rule.value, days=rule.days)
            return self.everyone - self._behaviour(at_least, inclusive=True)
        return self._behaviour(rule)

    def _behaviour(self, rule: BehaviourRule, *, inclusive: bool = False) -> Members:
        if not self.scope.sites:
            return frozenset()
        names = self._event_names() if isinstance(rule, VisitRule) else ()
        stmt = behaviour_query(rule, self.scope, inclusive=inclusive, names=names)
        ids = self._profile_ids()
        return frozenset(ids[u] for u in self._conn.execute(stmt).scalars() if u in ids)

    def _profile_ids(self) -> dict[str, int]:
        if self._ids is None:
            p = profiles.c
            stmt = select(p.id, p.user_id, p.first_seen_ms).where(p.tenant_id == self.scope.tenant_id)
            self._ids = {}
            for pid, user_id, first_seen in self._conn.execute(stmt):
                self._ids[user_id] = pid
                self._first_seen[pid] = first_seen
        return self._ids

    def _event_names(self) -> list[str]:
        if self._names is None:
            self._names = sorted({n for site in self.scope.sites for n in identified_names(self._conn, site)})
        return self._names

    def _all_traits(self) -> dict[int, dict[str, Any]]:
        if self._traits is None:
            p = profiles.c
            stmt = select(p.id, p.traits).where(p.tenant_id == self.scope.tenant_id)
            self._traits = {pid: orjson.loads(text) for pid, text in self._conn.execute(stmt)}
        return self._traits

    def _first_seen_matches(self, rule: FirstSeenRule) -> Members:
        self._profile_ids()
        if rule.op == "before":
            bound = local_midnight_ms(rule.date, self.scope.zone)
            return frozenset(p for p, ts in self._first_seen.items() if ts is not None and ts < bound)
        bound = local_midnight_ms(rule.date + timedelta(days=1), self.scope.zone)
        return frozenset(p for p, ts in self._first_seen.items() if ts is not None and ts >= bound)


def identified_names(conn: Connection, site_id: int) -> list[str]:
    """The distinct event names of a site's identified events, one index seek each (a skip scan
    over ix_events_identified, which leads with (site_id, name))."""
    e = events.c
    found: list[str] = []
    while True:
        after = [e.name > found[-1]] if found else []
        stmt = select(func.min(e.name)).where(e.site_id == site_id, e.user_id.is_not(None), *after)
        name = conn.execute(stmt).scalar()
        if name is None:
            return found
        found.append(name)


def trait_matches(rule: TraitRule, traits: dict[str, Any]) -> bool:
    value = traits.get(rule.trait)
    if rule.op == "set":
        return value is not None
    if rule.op == "not_set":
        return value is None
    if rule.op == "not_equals":
        return not _equal(value, rule.value)
    if value is None:
        return False
    if rule.op == "equals":
        return _equal(value, rule.value)
    if rule.op == "contains":
        return isinstance(value, str) and str(rule.value).lower() in value.lower()
    return _ordered(value, rule.value, rule.op)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(stored: object, wanted: object) -> bool:
    if _is_number(stored) and _is_number(wanted):
        return float(stored) == float(wanted)  # type: ignore[arg-type]
    return type(stored) is type(wanted) and stored == wanted


def _ordered(stored: object, wanted: object, op: str) -> bool:
    """Numbers against numbers, text (ISO dates) against text; anything else never matches."""
    if _is_number(stored) and _is_number(wanted):
        a, b = float(stored), float(wanted)  # type: ignore[arg-type]
    elif isinstance(stored, str) and isinstance(wanted, str):
        a, b = stored, wanted  # type: ignore[assignment]
    else:
        return False
    return a > b if op == "gt" else a < b


def behaviour_query(
    rule: BehaviourRule, scope: Scope, *, inclusive: bool = False, names: Sequence[str] = ()
) -> Select[Any]:
    """The user ids of the tenant's identified events that satisfy `rule` in its window (a visit
    rule reads the events of `names`: pass every name of the sites' identified events)."""
    e = events.c
    start, end = scope.window(rule.days)
    where = [e.site_id.in_(sorted(scope.sites)), e.ts >= start, e.ts < end, e.user_id.is_not(None)]
    if isinstance(rule, EventRule):
        stmt = select(e.user_id).where(*where, e.name == rule.event).group_by(e.user_id)
        return stmt.having(func.count() >= rule.min_count)
    if isinstance(rule, RevenueRule):
        total = func.sum(e.revenue)
        in_currency = or_(*(and_(e.site_id == s, e.currency == c) for s, c in scope.sites.items()))
        stmt = select(e.user_id).where(*where, e.name == "purchase", in_currency).group_by(e.user_id)
        return stmt.having(total >= rule.value if inclusive else total > rule.value)
    if isinstance(rule, PageRule):
        path = (
            e.pathname == rule.path
            if rule.match == "exact"
            # a case-sensitive prefix on every backend (SQLite's LIKE would ignore A-Z case)
            else func.substr(e.pathname, 1, len(rule.path)) == rule.path
        )
        return select(e.user_id).where(*where, e.name == "pageview", path).group_by(e.user_id)
    assert isinstance(rule, VisitRule)
    named = e.name.in_(names)  # the index leads with the name: every name the sites identified
    visited = e.visit_id.in_(_visits_with(rule, scope, start, end))
    # Repeats are left to the caller's set: with DISTINCT or GROUP BY over the names' IN list,
    # SQLite 3.40 leaves the covering index for one that reads every event row.
    return select(e.user_id).where(*where, named, visited)


def _visits_with(rule: VisitRule, scope: Scope, start: int, end: int) -> Select[Any]:
    """Ids of the visits with the attribute that may hold an event in [start, end): a set the
    events of the window are checked against (one probe each), instead of a visit lookup per event."""
    v = visits.c
    return select(v.id).where(
        v.site_id.in_(sorted(scope.sites)),
        v.ended_at >= start,
        v.started_at + 0 < end,  # `+ 0`: SQLite walks ended_at's index, the narrow side for a recent window
        v[rule.field] == rule.value.lower(),
    )
