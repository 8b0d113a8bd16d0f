"""Behaviour rules in ClickHouse SQL (docs/platform.md, "Segments on ClickHouse"): the statements
of compute_rules.behaviour_query with the same meaning, over `events` and `visits`. Trait and
first-seen rules stay compute_rules' Python over the profiles, which live in the accounts database
when the events are in ClickHouse.

- window: the events whose time falls in the rule's local days, [start, end) in epoch ms;
- event: at least `min_count` distinct event ids per customer;
- revenue: purchases in their site's currency, each id once, summed per customer (> value, or >=
  for the complement of `lt`);
- visited: a pageview of the path, or of a path starting with it (case-sensitive, as paths are);
- visit: an identified event in a visit whose attribute equals the value in lower case.

No FINAL: a row written again (a pageview's new gap or engaged time, a visit's new counters, a
frame re-sent past the deduplication window) is the same id with the same values for every
column read here (an event's site, time, name, path, user, visit, revenue and currency; a visit's
attributes, fixed by its first event), so "exists" needs no deduplication and counts and sums take
each id once. FINAL merged every row of the window first: 3-7x the CPU at 200,000 profiles.

Values go in as server-side parameters, never into the SQL text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine

from analytics_mcp.platform.compute_rules import Evaluator, Members, Scope
from analytics_mcp.platform.segment_rules import BehaviourRule, EventRule, PageRule, RevenueRule, VisitRule
from analytics_mcp.platform.segments import Segment
from analytics_mcp.storage.clickhouse import ClickHouseEvents


class Statement:
    """SQL text and its parameters, built together."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    def param(self, value: Any, kind: str) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"{{{name}:{kind}}}"


def behaviour_sql(
    events: ClickHouseEvents, rule: BehaviourRule, scope: Scope, *, inclusive: bool = False
) -> tuple[str, dict[str, Any]]:
    """The user ids of the tenant's identified events that satisfy `rule` in its window."""
    st = Statement()
    start, end = scope.window(rule.days)
    where = [
        f"e.site_id IN {st.param(sorted(scope.sites), 'Array(UInt32)')}",
        f"e.ts >= fromUnixTimestamp64Milli({st.param(start, 'Int64')}, 'UTC')",
        f"e.ts < fromUnixTimestamp64Milli({st.param(end, 'Int64')}, 'UTC')",
        "e.user_id IS NOT NULL",
    ]
    having = ""
    if isinstance(rule, EventRule):
        where.append(f"e.name = {st.param(rule.event, 'String')}")
        if rule.min_count > 1:
            having = f"uniqExact(e.id) >= {st.param(rule.min_count, 'UInt64')}"
    elif isinstance(rule, RevenueRule):
        currencies = [(site, currency) for site, currency in scope.sites.items()]
        where += [
            "e.name = 'purchase'",
            f"(e.site_id, e.currency) IN {st.param(currencies, 'Array(Tuple(UInt32, String))')}",
        ]
        having = f"sum(amount) {'>=' if inclusive else '>'} {st.param(float(rule.value), 'Float64')}"
    elif isinstance(rule, PageRule):
        path = st.param(rule.path, "String")
        matched = f"e.pathname = {path}" if rule.match == "exact" else f"startsWith(e.pathname, {path})"
        where += ["e.name = 'pageview'", matched]
    else:
        assert isinstance(rule, VisitRule)
        sites = st.param(sorted(scope.sites), "Array(UInt32)")
        value = st.param(rule.value.lower(), "String")
        visits = f"SELECT v.id FROM {events.table('visits')} AS v WHERE v.site_id IN {sites}"
        where.append(f"e.visit_id IN ({visits} AND v.{rule.field} = {value})")
    table = f"{events.table('events')} AS e WHERE {' AND '.join(where)}"
    if isinstance(rule, RevenueRule):  # each purchase once: its revenue per id, then the sum
        table = f"(SELECT e.user_id AS user_id, any(e.revenue) AS amount FROM {table} GROUP BY user_id, e.id)"
    sql = f"SELECT user_id FROM {table} GROUP BY user_id"
    return (sql + f" HAVING {having}" if having else sql), st.params


class ClickHouseEvaluator(Evaluator):
    """compute_rules' Evaluator with the behaviour rules answered by ClickHouse; `conn` reads the
    profiles (the accounts database)."""

    def __init__(self, conn: Connection, scope: Scope, events: ClickHouseEvents) -> None:
        super().__init__(conn, scope)
        self._events = events

    def _behaviour(self, rule: BehaviourRule, *, inclusive: bool = False) -> Members:
        if not self.scope.sites:
            return frozenset()
        sql, params = behaviour_sql(self._events, rule, self.scope, inclusive=inclusive)
        ids = self._profile_ids()
        found = self._events.rows(sql, params)
        return frozenset(ids[row[0]] for row in found if row[0] in ids)


def evaluate(
    accounts: Engine, events: ClickHouseEvents, scope: Scope, chosen: Sequence[Segment]
) -> dict[int, Members]:
    """Each chosen segment's members on the scope's day (profiles read from the accounts)."""
    with accounts.connect() as conn:
        evaluator = ClickHouseEvaluator(conn, scope, events)
        return {s.id: evaluator.members(s.match, s.rules) for s in chosen}
