"""parse_query: periods in time zones, validation rules and filters (pure, no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from analytics_mcp.engine import Filter, QueryError, parse_query
from analytics_mcp.storage.account_types import Site

pytestmark = pytest.mark.backends()

SITES = [
    Site(id=1, tenant_id=1, domain="acme.test", timezone="Europe/Berlin", currency="EUR"),
    Site(id=2, tenant_id=1, domain="tokyo.test", timezone="Asia/Tokyo", currency="JPY"),
]
NOW = datetime(2026, 11, 20, 12, 34, tzinfo=UTC)


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def parse(**arguments: Any) -> Any:
    return parse_query(SITES, arguments.pop("tz", "UTC"), now=arguments.pop("now", NOW), **arguments)


@pytest.mark.parametrize(
    ("arguments", "date_from", "date_to", "previous_from", "previous_to"),
    [
        ({}, "2026-11-14", "2026-11-20", "2026-11-07", "2026-11-13"),  # default 7d, today included
        ({"period": "30d"}, "2026-10-22", "2026-11-20", "2026-09-22", "2026-10-21"),
        ({"period": "90d"}, "2026-08-23", "2026-11-20", "2026-05-25", "2026-08-22"),
        ({"period": "12m"}, "2025-11-21", "2026-11-20", "2024-11-21", "2025-11-20"),
        (
            {"date_from": "2026-11-01", "date_to": "2026-11-10"},
            "2026-11-01",
            "2026-11-10",
            "2026-10-22",
            "2026-10-31",
        ),
        (
            {"period": "30d", "date_from": "2026-11-05", "date_to": "2026-11-05"},
            "2026-11-05",
            "2026-11-05",
            "2026-11-04",
            "2026-11-04",
        ),
        # Tokyo is already on the 21st at 12:34 UTC; Los Angeles is still on the 20th.
        (
            {"tz": "Asia/Tokyo", "period": "7d", "now": datetime(2026, 11, 20, 16, tzinfo=UTC)},
            "2026-11-15",
            "2026-11-21",
            "2026-11-08",
            "2026-11-14",
        ),
        (
            {"tz": "America/Los_Angeles", "now": datetime(2026, 11, 21, 5, tzinfo=UTC)},
            "2026-11-14",
            "2026-11-20",
            "2026-11-07",
            "2026-11-13",
        ),
    ],
)
def test_day_periods(
    arguments: dict[str, Any], date_from: str, date_to: str, previous_from: str, previous_to: str
) -> None:
    query = parse(**arguments)
    assert query.interval == ("week" if arguments.get("period") == "12m" else "day")  # 12m: weeks
    assert (str(query.range.date_from), str(query.range.date_to)) == (date_from, date_to)
    assert (str(query.comparison.date_from), str(query.comparison.date_to)) == (previous_from, previous_to)


def test_12m_clamps_a_missing_day_of_month() -> None:
    query = parse(period="12m", now=datetime(2028, 2, 29, 12, tzinfo=UTC))
    assert (query.range.date_from, query.range.date_to) == (date(2027, 3, 1), date(2028, 2, 29))


@pytest.mark.parametrize(
    ("tz", "start", "end"),
    [
        ("UTC", "2026-11-20T00:00:00+00:00", "2026-11-21T00:00:00+00:00"),
        ("Asia/Tokyo", "2026-11-20T00:00:00+09:00", "2026-11-21T00:00:00+09:00"),
        ("America/Los_Angeles", "2026-11-20T00:00:00-08:00", "2026-11-21T00:00:00-08:00"),
        ("Europe/Berlin", "2026-11-20T00:00:00+01:00", "2026-11-21T00:00:00+01:00"),
    ],
)
def test_local_day_bounds(tz: str, start: str, end: str) -> None:
    query = parse(tz=tz, date_from="2026-11-20", date_to="2026-11-20")
    assert (query.range.start_ms, query.range.end_ms) == (ms(start), ms(end))


def test_dst_days_are_23_and_25_hours_long() -> None:
    spring = parse(tz="Europe/Berlin", date_from="2026-03-29", date_to="2026-03-29").range
    autumn = parse(tz="Europe/Berlin", date_from="2026-10-25", date_to="2026-10-25").range
    assert spring.end_ms - spring.start_ms == 23 * 3_600_000
    assert autumn.end_ms - autumn.start_ms == 25 * 3_600_000


@pytest.mark.parametrize(
    ("tz", "now", "first", "last"),
    [
        ("UTC", NOW, "2026-11-19T13:00:00+00:00", "2026-11-20T12:00:00+00:00"),
        ("Asia/Kolkata", NOW, "2026-11-19T19:00:00+05:30", "2026-11-20T18:00:00+05:30"),
        ("America/Los_Angeles", NOW, "2026-11-19T05:00:00-08:00", "2026-11-20T04:00:00-08:00"),
    ],
)
def test_24h_is_the_24_local_hours_ending_with_the_current_one(
    tz: str, now: datetime, first: str, last: str
) -> None:
    query = parse(tz=tz, period="24h", now=now)
    assert query.interval == "hour" and query.period == "24h"
    assert query.range.start_ms == ms(first)
    assert query.range.end_ms == ms(last) + 3_600_000
    assert query.comparison.end_ms == query.range.start_ms
    assert query.comparison.start_ms == query.range.start_ms - 24 * 3_600_000


def test_site_selects_its_time_zone_and_all_sites_use_the_tenants() -> None:
    one = parse(tz="America/New_York", site="tokyo.test")
    assert ([s.domain for s in one.sites], one.timezone, one.currency) == (
        ["tokyo.test"],
        "Asia/Tokyo",
        "JPY",
    )
    every = parse(tz="America/New_York")
    assert ([s.domain for s in every.sites], every.timezone) == (
        ["acme.test", "tokyo.test"],
        "America/New_York",
    )
    assert parse(site="WWW.Acme.test").site_ids == [1]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"period": "1y"}, "period"),
        ({"period": "7D"}, "period"),
        ({"date_to": "2026-11-01"}, "to"),
        ({"date_from": "2026-11-01"}, "to"),
        ({"date_from": "2026-11-02", "date_to": "2026-11-01"}, "from"),
        ({"date_from": "2026-02-30", "date_to": "2026-03-01"}, "from"),
        ({"date_from": "2026-11-01", "date_to": "tomorrow"}, "to"),
        ({"date_from": "20261101", "date_to": "2026-11-02"}, "from"),
        ({"date_from": "0001-01-01", "date_to": "0001-01-02"}, "from"),
        ({"date_from": "2015-01-01", "date_to": "2026-01-01"}, "to"),  # more than 5 years
        ({"site": "other.test"}, "site"),
        ({"site": ""}, "site"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"filters": "nope==1"}, "filters"),
        ({"filters": "page=/x"}, "filters"),
        ({"filters": "page=="}, "filters"),
        ({"filters": "[{]"}, "filters"),
        ({"filters": '[{"dimension": "page", "operator": "like", "values": ["/"]}]'}, "filters"),
        ({"filters": ";".join(["page==/x"] * 21)}, "filters"),
    ],
)
def test_invalid_arguments_name_their_field(arguments: dict[str, Any], field: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse(**arguments)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_unknown_tenant_timezone_is_an_error() -> None:
    with pytest.raises(QueryError, match="timezone"):
        parse(tz="Mars/Olympus")


def test_filter_syntax_and_json_give_the_same_filters() -> None:
    text = parse(filters="page==/pricing|/plans;source!=Google;utm_campaign~Spring;device==Mobile").filters
    as_json = parse(
        filters='[{"dimension": "page", "operator": "is", "values": ["/pricing", "/plans"]},'
        ' {"dimension": "source", "operator": "is_not", "values": "google"},'
        ' {"dimension": "utm_campaign", "operator": "contains", "values": ["Spring"]},'
        ' {"dimension": "device", "operator": "is", "values": ["mobile"]}]'
    ).filters
    objects = parse(
        filters=[Filter(dimension="page", operator="is", values=("/pricing", "/plans")), *text[1:]]
    ).filters
    assert text == as_json == objects
    assert text[1].values == ("google",)  # normalised like the stored sources
    assert text[2].values == ("Spring",)  # contains is case-insensitive at query time
    assert text[3].values == ("mobile",)


def test_no_filters_and_limits() -> None:
    assert parse(filters="").filters == () and parse(filters=None).filters == ()
    assert parse().limit == 10 and parse(limit=100).limit == 100
    assert parse_query(SITES, "UTC", now=NOW, default_limit=50, max_limit=1000, limit=1000).limit == 1000
