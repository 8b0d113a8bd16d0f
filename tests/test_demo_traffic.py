"""The demo traffic generator: reproducible, valid batch-format events, and realistic enough that
the dashboards built on it look like a real site's."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from analytics_mcp.demo import generate_events
from analytics_mcp.ingest.bulk_import import validate_line
from analytics_mcp.ingest.enrich import parse_user_agent

END = datetime(2026, 2, 17, 12, 30, tzinfo=UTC)
DOMAIN = "demo.example.com"
ALLOWED_KEYS = {
    "name", "url", "domain", "referrer", "props", "interactive", "event_id", "revenue", "transaction_id",
    "items", "engagement_ms", "scroll_depth", "language", "timestamp", "ip", "user_agent",
}  # fmt: skip
REQUIRED_KEYS = {"name", "url", "domain", "referrer", "event_id", "language", "timestamp", "ip", "user_agent"}
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
VISIT_GAP = timedelta(minutes=30)

Event = dict[str, Any]


def _when(event: Event) -> datetime:
    return datetime.fromisoformat(event["timestamp"])


def _visits(events: list[Event]) -> list[list[Event]]:
    """Split by (ip, user_agent) and 30-minute gaps, the way the pipeline forms visits."""
    by_client: dict[tuple[str, str], list[Event]] = defaultdict(list)
    for event in events:
        by_client[(event["ip"], event["user_agent"])].append(event)
    visits: list[list[Event]] = []
    for stream in by_client.values():
        current = [stream[0]]
        for before, after in pairwise(stream):
            if _when(after) - _when(before) >= VISIT_GAP:
                visits.append(current)
                current = []
            current.append(after)
        visits.append(current)
    return visits


@pytest.fixture(scope="module")
def week() -> list[Event]:
    return list(generate_events(DOMAIN, days=7, end=END))


@pytest.fixture(scope="module")
def week_visits(week: list[Event]) -> list[list[Event]]:
    return _visits(week)


def test_same_seed_same_events() -> None:
    first = list(generate_events(DOMAIN, days=2, end=END, daily_visitors=300, seed=3))
    again = list(generate_events(DOMAIN, days=2, end=END, daily_visitors=300, seed=3))
    other = list(generate_events(DOMAIN, days=2, end=END, daily_visitors=300, seed=4))
    assert first == again
    assert first != other
    assert {e["event_id"] for e in first}.isdisjoint(e["event_id"] for e in other)


def test_rejects_negative_arguments() -> None:
    with pytest.raises(ValueError):
        generate_events(DOMAIN, days=-1)


def test_events_follow_the_batch_format(week: list[Event]) -> None:
    now_ms = int(END.timestamp() * 1000)
    for event in week:
        assert REQUIRED_KEYS <= event.keys() <= ALLOWED_KEYS, event
        assert event["domain"] == DOMAIN
        assert event["url"].startswith(f"https://{DOMAIN}/")
        assert ISO_MS.match(event["timestamp"]), event["timestamp"]
        assert isinstance(event["ip"], str) and isinstance(event["user_agent"], str)
        # The real ingestion contract accepts every line.
        assert not isinstance(validate_line(event, now_ms=now_ms), tuple), event


def test_events_are_in_time_order_within_the_period(week: list[Event]) -> None:
    times = [_when(e) for e in week]
    assert times == sorted(times)
    assert END - timedelta(days=7) <= times[0] and times[-1] <= END


def test_ids_are_unique(week: list[Event]) -> None:
    ids = [e["event_id"] for e in week]
    assert len(ids) == len(set(ids))
    transactions = [e["transaction_id"] for e in week if e["name"] == "purchase"]
    assert transactions and len(transactions) == len(set(transactions))


def test_engagement_fields(week: list[Event]) -> None:
    engagements = [e for e in week if e["name"] == "engagement"]
    pageviews = sum(e["name"] == "pageview" for e in week)
    assert 0.7 * pageviews < len(engagements) <= pageviews
    for event in engagements:
        assert isinstance(event["engagement_ms"], int) and event["engagement_ms"] >= 0
        assert 0 <= event["scroll_depth"] <= 100


def test_visits_are_plausible(week_visits: list[list[Event]]) -> None:
    single = sum(1 for v in week_visits if sum(e["name"] == "pageview" for e in v) == 1)
    assert 0.3 < single / len(week_visits) < 0.7
    assert max(sum(e["name"] == "pageview" for e in v) for v in week_visits) >= 8
    assert any(_when(v[0]).date() != _when(v[-1]).date() for v in week_visits), "a visit crosses midnight"
    for visit in week_visits:
        assert visit[0]["name"] == "pageview"
        first_path = urlsplit(visit[0]["url"]).path
        assert not first_path.startswith(("/cart", "/checkout", "/thank-you"))


def test_some_visitors_return_the_same_day(week_visits: list[list[Event]]) -> None:
    starts: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for visit in week_visits:
        starts[(visit[0]["ip"], visit[0]["user_agent"])].append(_when(visit[0]))
    returning = [s for s in starts.values() if len(s) > 1 and s[0].date() == s[1].date()]
    assert 0.005 < len(returning) / len(starts) < 0.05


def _source(entry: Event) -> str:
    query = parse_qs(urlsplit(entry["url"]).query)
    if "utm_source" in query:
        return query["utm_source"][0]
    if entry["referrer"] is None:
        return "direct"
    return urlsplit(entry["referrer"]).hostname.removeprefix("www.")  # type: ignore[union-attr]


def test_sources_are_varied(week_visits: list[list[Event]]) -> None:
    sources = Counter(_source(v[0]) for v in week_visits)
    share = {name: count / len(week_visits) for name, count in sources.items()}
    assert 0.25 < share["direct"] < 0.45
    assert share["google.com"] > 0.1
    for name in ("chatgpt.com", "perplexity.ai", "claude.ai", "news.ycombinator.com", "t.co", "newsletter"):
        assert name in sources
    campaigns = {parse_qs(urlsplit(v[0]["url"]).query).get("utm_campaign", [""])[0] for v in week_visits}
    assert {"spring-sale", "feb-2026", "launch-week"} <= campaigns
    assert len(sources) >= 20


def test_devices_and_languages(week_visits: list[list[Event]]) -> None:
    devices = Counter()
    for visit in week_visits:
        client = parse_user_agent(visit[0]["user_agent"])
        assert client is not None, visit[0]["user_agent"]  # never dropped as a bot
        devices[client.device_type] += 1
    total = sum(devices.values())
    assert 0.45 < devices["desktop"] / total < 0.65
    assert 0.3 < devices["mobile"] / total < 0.5
    assert 0.01 < devices["tablet"] / total < 0.1
    languages = Counter(v[0]["language"] for v in week_visits)
    assert {"en-US", "de-DE", "fr-FR", "nl-NL", "pt-BR"} <= languages.keys()


def test_daily_and_weekly_cycles() -> None:
    events = generate_events(DOMAIN, days=14, end=END, daily_visitors=400)
    by_day: Counter[int] = Counter()
    by_hour: Counter[int] = Counter()
    for event in events:
        if event["name"] == "pageview":
            when = _when(event)
            by_day[when.weekday()] += 1
            by_hour[when.hour] += 1
    weekday = sum(by_day[d] for d in range(5)) / 5
    weekend = (by_day[5] + by_day[6]) / 2
    assert weekend < 0.85 * weekday
    assert sum(by_hour[h] for h in range(14, 20)) > 3 * sum(by_hour[h] for h in range(1, 7))


def test_custom_events(week: list[Event]) -> None:
    names = Counter(e["name"] for e in week)
    for name in ("Signup", "Outbound Link: Click", "File Download", "Newsletter"):
        assert names[name] > 0, name
    for event in week:
        if event["name"] == "Signup":
            assert urlsplit(event["url"]).path == "/signup"
        elif event["name"] in ("Outbound Link: Click", "File Download"):
            assert event["props"]["url"].startswith("https://")
        elif event["name"] == "Newsletter":
            assert event["interactive"] is True


def test_shop_funnel(week: list[Event], week_visits: list[list[Event]]) -> None:
    names = Counter(e["name"] for e in week)
    viewing = sum(1 for v in week_visits if any(e["name"] == "view_item" for e in v))
    assert 0.04 < viewing / len(week_visits) < 0.14
    assert names["view_item"] > names["add_to_cart"] > names["begin_checkout"] > names["purchase"] > 0
    for event in week:
        if event["name"] in ("view_item", "add_to_cart", "begin_checkout", "purchase"):
            assert event["items"] and all(i["quantity"] >= 1 and i["price"] > 0 for i in event["items"])


def test_purchases_add_up(week: list[Event]) -> None:
    purchases = [e for e in week if e["name"] == "purchase"]
    for purchase in purchases:
        expected = sum(item["price"] * item["quantity"] for item in purchase["items"])
        assert purchase["revenue"]["amount"] == pytest.approx(expected, abs=0.005)
        assert purchase["revenue"]["currency"] in ("EUR", "USD")
        assert purchase["transaction_id"].startswith("T-")
    currencies = Counter(p["revenue"]["currency"] for p in purchases)
    assert currencies["EUR"] > 0.9 * len(purchases)


def test_rare_usd_purchases_exist() -> None:
    events = generate_events(DOMAIN, days=60, end=END, daily_visitors=800)
    assert any(e["name"] == "purchase" and e["revenue"]["currency"] == "USD" for e in events)


def test_visitors_come_from_many_countries(week_visits: list[list[Event]]) -> None:
    """The ingestion derives countries from the demo's IPs: a European-led mix, the US near the top."""
    from analytics_mcp.ingest.geo import bundled_lookup

    countries = Counter(bundled_lookup(v[0]["ip"]) for v in week_visits)
    top = [code for code, _ in countries.most_common(6)]
    assert len(countries) >= 30 and "US" in top[:2] and "DE" in top
    assert countries[None] < len(week_visits) / 50
