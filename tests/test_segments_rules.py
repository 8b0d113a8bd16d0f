"""Every segment rule against members worked out by hand (tests/segments_support.py), computed
through the real pipeline: identified events ingested, profiles imported, snapshots stored."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from analytics_mcp.platform.memberships import day_number, user_ids_of
from analytics_mcp.platform.segment_rules import Rule
from analytics_mcp.services import Services
from segments_support import D, add_segment, compute, world

pytestmark = pytest.mark.backends("sqlite", "postgresql", "split")

CASES: list[tuple[str, list[dict[str, Any]], str, set[str]]] = [
    (
        "plan is pro",
        [{"type": "trait", "trait": "plan", "op": "equals", "value": "pro"}],
        "all",
        {"u1", "u3"},
    ),
    ("plan not pro", [{"type": "trait", "trait": "plan", "op": "not_equals", "value": "pro"}], "all", {"u2"}),
    ("ltv over 100", [{"type": "trait", "trait": "ltv", "op": "gt", "value": 100}], "all", {"u1"}),
    ("ltv under 100", [{"type": "trait", "trait": "ltv", "op": "lt", "value": 100}], "all", {"u2"}),
    (
        "example mail",
        [{"type": "trait", "trait": "email", "op": "contains", "value": "EXAMPLE"}],
        "all",
        {"u1"},
    ),
    ("ltv set", [{"type": "trait", "trait": "ltv", "op": "set"}], "all", {"u1", "u2"}),
    ("ltv not set", [{"type": "trait", "trait": "ltv", "op": "not_set"}], "all", {"u3"}),
    ("signed up twice", [{"type": "event", "event": "signup", "min_count": 2, "days": 7}], "all", {"u1"}),
    ("signed up 3x", [{"type": "event", "event": "signup", "min_count": 3, "days": 7}], "all", set()),
    ("big spenders", [{"type": "revenue", "op": "gt", "value": 100, "days": 30}], "all", {"u1"}),
    ("small spenders", [{"type": "revenue", "op": "lt", "value": 100, "days": 30}], "all", {"u2", "u3"}),
    ("spent in 2 days", [{"type": "revenue", "op": "gt", "value": 100, "days": 2}], "all", set()),
    ("spent in 3 days", [{"type": "revenue", "op": "gt", "value": 100, "days": 3}], "all", {"u1"}),
    ("saw pricing", [{"type": "visited", "path": "/pricing", "days": 30}], "all", {"u1"}),
    ("blog 30d", [{"type": "visited", "path": "/blog", "match": "prefix", "days": 30}], "all", set()),
    ("blog 60d", [{"type": "visited", "path": "/blog", "match": "prefix", "days": 60}], "all", {"u2"}),
    # paths are case-sensitive, as the exact match and the goals' prefixes: /Blog is not /blog
    ("capital blog 60d", [{"type": "visited", "path": "/Blog", "match": "prefix", "days": 60}], "all", set()),
    (
        "old",
        [{"type": "first_seen", "op": "before", "date": str(D - timedelta(days=1))}],
        "all",
        {"u1", "u2"},
    ),
    ("new", [{"type": "first_seen", "op": "after", "date": str(D - timedelta(days=3))}], "all", {"u1"}),
    (
        "newsletter",
        [{"type": "visit", "field": "utm_source", "value": "Newsletter", "days": 30}],
        "all",
        {"u1"},
    ),
    ("direct", [{"type": "visit", "field": "channel", "value": "direct", "days": 30}], "all", {"u1", "u2"}),
    (
        "free or signup",
        [
            {"type": "trait", "trait": "plan", "op": "equals", "value": "free"},
            {"type": "event", "event": "signup", "days": 1},
        ],
        "any",
        {"u1", "u2"},
    ),
    (
        "pro and big",
        [
            {"type": "trait", "trait": "plan", "op": "equals", "value": "pro"},
            {"type": "revenue", "op": "gt", "value": 100, "days": 30},
        ],
        "all",
        {"u1"},
    ),
]


def test_every_rule_has_its_hand_computed_members(services: Services) -> None:
    tenant = world(services)
    ids = {name: add_segment(services, tenant, name, rules, match) for name, rules, match, _ in CASES}
    done = {c.segment_id: c.member_count for c in compute(services, tenant)}
    with services.events_db.sync.connect() as conn:  # type: ignore[union-attr]
        found = {name: user_ids_of(conn, ids[name], day_number(D)) for name, *_ in CASES}
    assert found == {name: members for name, _r, _m, members in CASES}
    assert done == {ids[name]: len(members) for name, _r, _m, members in CASES}


def test_recomputing_a_day_replaces_it(services: Services) -> None:
    tenant = world(services)
    segment = add_segment(services, tenant, "pro", [CASES[0][1][0]])
    first = compute(services, tenant)
    again = compute(services, tenant)
    assert [c.member_count for c in first] == [c.member_count for c in again] == [2]
    with services.events_db.sync.connect() as conn:  # type: ignore[union-attr]
        assert user_ids_of(conn, segment, day_number(D)) == {"u1", "u3"}


@pytest.mark.parametrize("value", [False, True, "5"])
def test_a_revenue_amount_is_a_json_number(value: Any) -> None:
    """The full contract fuzz found {"value": false} stored as 0.0 (pydantic's lax float)."""
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(Rule).validate_python({"type": "revenue", "op": "gt", "value": value, "days": 30})
    assert [error["loc"] for error in caught.value.errors()] == [("revenue", "value")]
    assert TypeAdapter(Rule).validate_python({"type": "revenue", "op": "gt", "value": 5}).value == 5.0
