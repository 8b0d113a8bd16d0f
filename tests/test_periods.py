"""Honest periods (issue 16 item 3): yesterday, complete days, compare modes and the partial
current day, hand-computed in the site's time zone with a pinned now (pure, no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from analytics_mcp.engine import QueryError, ReportRange, parse_query
from analytics_mcp.storage.account_types import Site

pytestmark = pytest.mark.backends()

BERLIN = Site(id=1, tenant_id=1, domain="acme.test", timezone="Europe/Berlin", currency="EUR")
NOW = datetime(2026, 11, 20, 12, 34, tzinfo=UTC)


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def parse(now: datetime = NOW, **arguments: Any) -> Any:
    return parse_query([BERLIN], "Europe/Berlin", now=now, site="acme.test", **arguments)


def dates(rng: Any) -> tuple[str, str]:
    return str(rng.date_from), str(rng.date_to)


@pytest.mark.parametrize(
    ("now", "start", "end", "hours"),
    [
        # Berlin leaves summer time on 2026-10-25: that day has 25 hours.
        (
            datetime(2026, 10, 26, 10, tzinfo=UTC),
            "2026-10-24T22:00:00+00:00",
            "2026-10-25T23:00:00+00:00",
            25,
        ),
        # ... and enters it on 2026-03-29: 23 hours.
        (datetime(2026, 3, 30, 8, tzinfo=UTC), "2026-03-28T23:00:00+00:00", "2026-03-29T22:00:00+00:00", 23),
    ],
)
def test_yesterday_across_a_dst_change(now: datetime, start: str, end: str, hours: int) -> None:
    query = parse(now, period="yesterday")
    day_before = now.date() - timedelta(days=1)
    assert query.range.date_from == query.range.date_to == day_before
    assert (query.range.start_ms, query.range.end_ms) == (ms(start), ms(end))
    assert (query.range.end_ms - query.range.start_ms) // 3_600_000 == hours
    assert query.comparison.date_from == query.comparison.date_to == day_before - timedelta(days=1)
    assert not ReportRange.of(query).partial_day


def test_a_partial_day_at_half_past_midnight() -> None:
    now = datetime(2026, 11, 19, 23, 30, tzinfo=UTC)  # 2026-11-20 00:30 in Berlin
    week = parse(now, period="7d")
    assert dates(week.range) == ("2026-11-14", "2026-11-20")
    shown = ReportRange.of(week)
    assert shown.partial_day and shown.data_through == datetime.fromisoformat("2026-11-20T00:30:00+01:00")
    assert shown.model_dump(mode="json")["data_through"] == "2026-11-20T00:30:00+01:00"
    complete = parse(now, period="last_7_complete_days")
    assert dates(complete.range) == ("2026-11-13", "2026-11-19")
    assert dates(complete.comparison) == ("2026-11-06", "2026-11-12")
    assert complete.range.end_ms == ms("2026-11-20T00:00:00+01:00")
    assert not ReportRange.of(complete).partial_day and ReportRange.of(complete).data_through is None
    assert dates(parse(now, period="yesterday").range) == ("2026-11-19", "2026-11-19")


@pytest.mark.parametrize(
    ("period", "first", "last", "previous_first"),
    [
        ("last_7_complete_days", "2026-11-13", "2026-11-19", "2026-11-06"),
        ("last_28_complete_days", "2026-10-23", "2026-11-19", "2026-09-25"),
        ("last_30_complete_days", "2026-10-21", "2026-11-19", "2026-09-21"),
        ("last_90_complete_days", "2026-08-22", "2026-11-19", "2026-05-24"),
        ("yesterday", "2026-11-19", "2026-11-19", "2026-11-18"),
    ],
)
def test_complete_day_periods(period: str, first: str, last: str, previous_first: str) -> None:
    query = parse(period=period)
    assert dates(query.range) == (first, last) and query.interval == "day"
    assert str(query.comparison.date_from) == previous_first
    assert query.comparison.days == query.range.days and query.compare == "previous_period"


def test_year_over_year_takes_the_same_dates() -> None:
    query = parse(period="30d", compare="year_over_year")
    assert dates(query.range) == ("2026-10-22", "2026-11-20")
    assert dates(query.comparison) == ("2025-10-22", "2025-11-20") and query.compare == "year_over_year"
    compared = ReportRange.comparison_of(query)
    assert compared.period == "year_over_year" and not compared.partial_day
    assert ReportRange.of(query).partial_day  # today, 13:34 in Berlin, is not over


def test_year_over_year_from_a_leap_day() -> None:
    leap = datetime(2028, 3, 1, 12, tzinfo=UTC)
    assert dates(parse(leap, period="yesterday", compare="year_over_year").comparison) == (
        "2027-02-28",
        "2027-02-28",
    )
    # Same dates, so the comparison is a day shorter: 2027 has no 29 February.
    assert dates(parse(leap, period="7d", compare="year_over_year").comparison) == (
        "2027-02-24",
        "2027-03-01",
    )


def test_year_over_year_of_24_hours_is_the_same_local_hours() -> None:
    query = parse(period="24h", compare="year_over_year")
    assert (query.range.start_ms, query.range.end_ms) == (
        ms("2026-11-19T14:00:00+01:00"),
        ms("2026-11-20T14:00:00+01:00"),
    )
    assert (query.comparison.start_ms, query.comparison.end_ms) == (
        ms("2025-11-19T14:00:00+01:00"),
        ms("2025-11-20T14:00:00+01:00"),
    )


def test_a_custom_comparison_range_of_any_length() -> None:
    query = parse(period="7d", compare_from="2026-01-01", compare_to="2026-01-31")
    assert dates(query.comparison) == ("2026-01-01", "2026-01-31") and query.compare == "custom"
    assert query.comparison.start_ms == ms("2026-01-01T00:00:00+01:00")
    explicit = parse(
        date_from="2026-11-01",
        date_to="2026-11-02",
        compare="custom",
        compare_from="2025-11-01",
        compare_to="2025-11-02",
    )
    assert dates(explicit.comparison) == ("2025-11-01", "2025-11-02")


@pytest.mark.parametrize(
    ("arguments", "field", "rule"),
    [
        (
            {"period": "last_week"},
            "period",
            "must be one of 24h, 7d, 30d, 90d, 12m, yesterday, "
            "last_7_complete_days, last_28_complete_days, last_30_complete_days, last_90_complete_days",
        ),
        ({"compare": "weekly"}, "compare", "must be one of previous_period, year_over_year, custom"),
        ({"compare": "custom"}, "compare_from", "required when compare is custom"),
        (
            {"compare": "year_over_year", "compare_from": "2026-01-01", "compare_to": "2026-01-02"},
            "compare",
            "must be custom (or omitted) with compare_from/compare_to",
        ),
        ({"compare_to": "2026-01-02"}, "compare_to", "requires compare_from"),
        ({"compare_from": "2026-01-02"}, "compare_to", "required when compare_from is set"),
        (
            {"compare_from": "2026-01-03", "compare_to": "2026-01-02"},
            "compare_from",
            "must not be after compare_to",
        ),
        (
            {"compare_from": "2026-1-3", "compare_to": "2026-01-02"},
            "compare_from",
            "must be a valid date as YYYY-MM-DD",
        ),
        (
            {"compare_from": "1900-01-01", "compare_to": "2026-01-02"},
            "compare_from",
            "must be between 1971-01-01 and 9990-12-31",
        ),
        (
            {"compare_from": "2000-01-01", "compare_to": "2026-01-02"},
            "compare_to",
            "range must be at most 1830 days",
        ),
    ],
)
def test_refusals_name_the_field_and_the_rule(arguments: dict[str, Any], field: str, rule: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse(**arguments)
    assert (caught.value.field, caught.value.rule) == (field, rule)


def test_previous_period_stays_the_default() -> None:
    query = parse(period="7d")
    assert query.compare == "previous_period" and dates(query.comparison) == ("2026-11-07", "2026-11-13")
    assert date.fromisoformat("2026-11-13") == query.comparison.date_to
