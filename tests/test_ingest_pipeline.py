"""The pipeline's rules, through the synchronous batch path (the same processor the HTTP routes use)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import select

from analytics_mcp.ingest.bulk_import import ingest_events
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.schema import ecommerce_items, events, goal_completions, metadata, salts, visits
from factories import CHROME_WIN, FIREFOX_LINUX, GOOGLEBOT, SAFARI_IPHONE, event, make_site

pytestmark = pytest.mark.backends()


@pytest.fixture
def svc(services: Services) -> Services:
    make_site(services)
    return services


def rows(svc: Services, table: Any, *order: Any) -> list[Any]:
    with svc.db.sync.connect() as conn:
        return conn.execute(select(table).order_by(*(order or table.primary_key.columns))).all()


def test_visit_attributes_come_from_the_first_event(svc: Services) -> None:
    summary = ingest_events(
        svc.ingestor,
        [
            event(
                "2026-11-20T10:00:00Z",
                "/pricing?utm_source=Newsletter&utm_medium=email&utm_campaign=feb",
                referrer="https://www.google.com/search",
                language="de-AT",
            ),
            event("2026-11-20T10:05:00Z", "/signup", referrer="https://news.ycombinator.com/"),
        ],
    )
    assert (summary.accepted, summary.rejected, summary.dropped) == (2, 0, 0)
    [visit] = rows(svc, visits)
    assert visit.pageviews == 2 and visit.events == 2 and visit.interactions == 0
    assert (visit.entry_path, visit.exit_path) == ("/pricing", "/signup")
    assert (visit.source, visit.referrer, visit.channel) == ("newsletter", "www.google.com", "email")
    assert (visit.utm_medium, visit.utm_campaign) == ("email", "feb")
    assert (visit.device_type, visit.browser, visit.os, visit.language) == (
        "desktop",
        "Chrome",
        "Windows",
        "de",
    )
    assert visit.ended_at - visit.started_at == 5 * 60 * 1000


def test_thirty_minute_gap_starts_a_new_visit(svc: Services) -> None:
    ingest_events(
        svc.ingestor,
        [
            event("2026-11-20T10:00:00Z", "/a"),
            event("2026-11-20T10:29:59Z", "/b"),  # gap under 30 min: same visit
            event("2026-11-20T11:00:00Z", "/c"),  # gap of 30 min 1 s: new visit
        ],
    )
    found = rows(svc, visits)
    assert [v.pageviews for v in found] == [2, 1]
    assert found[0].visitor_id == found[1].visitor_id  # same person, same UTC day


def test_visit_crossing_midnight_keeps_its_visitor_id(svc: Services) -> None:
    ingest_events(
        svc.ingestor,
        [
            event("2026-11-20T23:50:00Z", "/a"),
            event("2026-11-21T00:10:00Z", "/b"),  # same visit, previous day's salt
            event("2026-11-21T02:00:00Z", "/c"),  # new visit, new day's salt: a new visitor id
        ],
    )
    first, second = rows(svc, visits)
    assert first.pageviews == 2
    assert second.visitor_id != first.visitor_id
    ids = {r.visitor_id for r in rows(svc, events) if r.pathname in ("/a", "/b")}
    assert ids == {first.visitor_id}


def test_people_are_told_apart_by_ip_and_user_agent(svc: Services) -> None:
    ingest_events(
        svc.ingestor,
        [
            event("2026-11-20T10:00:00Z", ip="198.51.100.1", ua=CHROME_WIN),
            event("2026-11-20T10:00:01Z", ip="198.51.100.2", ua=CHROME_WIN),
            event("2026-11-20T10:00:02Z", ip="198.51.100.1", ua=FIREFOX_LINUX),
        ],
    )
    assert len({v.visitor_id for v in rows(svc, visits)}) == 3


def test_salts_are_deleted_after_48_hours_and_hashes_change(svc: Services) -> None:
    ingest_events(svc.ingestor, [event("2026-11-20T10:00:00Z")])
    processor = svc.ingestor.processor
    later = time.time() + 2 * 3600  # past the grace hour of a salt made for an old day
    with svc.db.sync.begin() as conn:
        assert processor.salts.cleanup(conn, now=later, force=True) == 1
        assert conn.execute(select(salts)).all() == []
    ingest_events(svc.ingestor, [event("2026-11-20T10:05:00Z", "/again")])
    first, second = rows(svc, visits)
    assert first.visitor_id != second.visitor_id  # the old salt is gone for good


def test_todays_salts_survive_cleanup(svc: Services) -> None:
    now = time.time()
    today = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60))
    ingest_events(svc.ingestor, [event(today)])
    with svc.db.sync.begin() as conn:
        assert svc.ingestor.processor.salts.cleanup(conn, now=now, force=True) == 0
        assert len(conn.execute(select(salts)).all()) == 1


def test_bots_and_unknown_domains_are_dropped_and_nothing_is_stored(svc: Services) -> None:
    summary = ingest_events(
        svc.ingestor,
        [
            event("2026-11-20T10:00:00Z", ua=GOOGLEBOT),
            event("2026-11-20T10:00:00Z", ua="curl/8.5.0"),
            event("2026-11-20T10:00:00Z", ua="python-requests/2.32.3"),
            event("2026-11-20T10:00:00Z", domain="unknown.test"),
        ],
    )
    assert (summary.accepted, summary.dropped) == (0, 4)
    assert rows(svc, events) == [] and rows(svc, visits) == []


def test_event_id_retries_are_stored_once(svc: Services) -> None:
    first = ingest_events(
        svc.ingestor,
        [event("2026-11-20T10:00:00Z", event_id="abc"), event("2026-11-20T10:00:00Z", event_id="abc")],
    )
    again = ingest_events(svc.ingestor, [event("2026-11-20T10:00:00Z", event_id="abc")])
    assert (first.accepted, first.duplicate, again.duplicate) == (1, 1, 1)
    assert len(rows(svc, events)) == 1


def test_identical_events_without_id_within_the_window_count_once(svc: Services) -> None:
    summary = ingest_events(
        svc.ingestor,
        [
            event("2026-11-20T10:00:00Z", "/x"),
            event("2026-11-20T10:00:04Z", "/x"),  # same visitor, same event, 4 s later: a double send
            event("2026-11-20T10:00:30Z", "/x"),  # outside the window: a real reload
        ],
    )
    assert (summary.accepted, summary.duplicate) == (2, 1)


def test_one_purchase_per_transaction_id(svc: Services) -> None:
    purchase = {
        "name": "purchase",
        "revenue": {"amount": 49.0, "currency": "EUR"},
        "transaction_id": "T-1",
        "items": [{"item_id": "p1", "item_name": "Pro", "price": 24.5, "quantity": 2}],
    }
    summary = ingest_events(
        svc.ingestor,
        [
            event("2026-11-20T10:00:00Z", "/checkout", **purchase, event_id="e1"),
            event("2026-11-20T10:01:00Z", "/checkout", **purchase, event_id="e2"),
        ],
    )
    assert (summary.accepted, summary.duplicate) == (1, 1)
    [item] = rows(svc, ecommerce_items)
    assert (item.item_name, item.price, item.quantity, item.currency) == ("Pro", 24.5, 2, "EUR")
    [visit] = rows(svc, visits)
    assert visit.interactions == 1  # e-commerce events are interactive


def test_engagement_goes_to_the_latest_pageview_of_its_path(svc: Services) -> None:
    ingest_events(
        svc.ingestor,
        [
            event("2026-11-20T10:00:00Z", "/a"),
            event("2026-11-20T10:01:00Z", "/b"),
            event("2026-11-20T10:01:30Z", "/a", name="engagement", engagement_ms=20_000, scroll_depth=40),
        ],
    )
    ingest_events(  # a later batch: the report lands on a stored row
        svc.ingestor,
        [event("2026-11-20T10:03:00Z", "/b", name="engagement", engagement_ms=70_000, scroll_depth=90)],
    )
    pageviews = {r.pathname: r for r in rows(svc, events) if r.name == "pageview"}
    assert (pageviews["/a"].engaged_ms, pageviews["/a"].scroll_depth, pageviews["/a"].gap_ms) == (
        20_000,
        40,
        60_000,
    )
    assert (pageviews["/b"].engaged_ms, pageviews["/b"].scroll_depth, pageviews["/b"].gap_ms) == (
        70_000,
        90,
        None,
    )
    [visit] = rows(svc, visits)
    assert visit.pageviews == 2 and visit.interactions == 0
    assert visit.ended_at - visit.started_at == 3 * 60 * 1000  # engagement extends the visit


def test_engagement_without_an_open_visit_is_dropped(svc: Services) -> None:
    summary = ingest_events(svc.ingestor, [event("2026-11-20T10:00:00Z", name="engagement", engagement_ms=5)])
    assert summary.dropped == 1 and rows(svc, visits) == []


def test_non_interactive_custom_event_keeps_a_bounce(svc: Services) -> None:
    ingest_events(
        svc.ingestor,
        [
            event("2026-11-20T10:00:00Z", "/", ip="198.51.100.1"),
            event("2026-11-20T10:00:10Z", "/", ip="198.51.100.1", name="Video Play", interactive=False),
            event("2026-11-20T10:00:00Z", "/", ip="198.51.100.2"),
            event("2026-11-20T10:00:10Z", "/", ip="198.51.100.2", name="Signup", props={"plan": "pro"}),
        ],
    )
    quiet, active = rows(svc, visits)
    assert (quiet.pageviews, quiet.interactions) == (1, 0)
    assert (active.pageviews, active.interactions) == (1, 1)
    signup = next(r for r in rows(svc, events) if r.name == "Signup")
    assert signup.props == '{"plan":"pro"}'


@pytest.mark.parametrize(
    ("match_type", "path", "hits"),
    [
        ("exact", "/signup", ["/signup"]),
        ("prefix", "/blog/", ["/blog/", "/blog/a", "/blog/a/b"]),
        ("wildcard", "/docs/*/install", ["/docs/v1/install"]),
        ("wildcard", "/shop/**", ["/shop/x", "/shop/x/y"]),
    ],
)
def test_url_goals_match_pageview_paths(svc: Services, match_type: str, path: str, hits: list[str]) -> None:
    with svc.db.sync.begin() as conn:
        goal = accounts.add_goal(conn, "acme.test", "G", path=path, match_type=match_type)
    paths = [
        "/signup",
        "/signup/x",
        "/blog/",
        "/blog/a",
        "/blog/a/b",
        "/docs/v1/install",
        "/docs/v1/x/install",
    ]
    paths += ["/shop/x", "/shop/x/y", "/shopping"]
    ingest_events(svc.ingestor, [event(f"2026-11-20T10:{i:02d}:00Z", p) for i, p in enumerate(paths)])
    matched = _completed_paths(svc, goal.id)
    assert matched == sorted(hits)


def test_event_goals_match_names_and_keep_the_event_id(svc: Services) -> None:
    with svc.db.sync.begin() as conn:
        goal = accounts.add_goal(conn, "acme.test", "Signups", event="Signup")
    ingest_events(
        svc.ingestor, [event("2026-11-20T10:00:00Z", "/", name="Signup"), event("2026-11-20T10:00:01Z", "/")]
    )
    [completion] = rows(svc, goal_completions)
    signup = next(r for r in rows(svc, events) if r.name == "Signup")
    assert (completion.goal_id, completion.event_id, completion.ts) == (goal.id, signup.id, signup.ts)


def _completed_paths(svc: Services, goal_id: str) -> list[str]:
    with svc.db.sync.connect() as conn:
        stmt = (
            select(events.c.pathname)
            .join(goal_completions, goal_completions.c.event_id == events.c.id)
            .where(goal_completions.c.goal_id == goal_id)
        )
        return sorted(conn.execute(stmt).scalars())


def test_bad_lines_are_reported_and_good_lines_kept(svc: Services) -> None:
    summary = ingest_events(
        svc.ingestor,
        [
            event("2026-11-20T10:00:00Z"),
            {**event("2026-11-20T10:00:00Z"), "url": "javascript:alert(1)"},
            {**event("2026-11-20T10:00:00Z"), "ip": "not-an-ip"},
            {**event("2026-11-20T10:00:00Z"), "timestamp": "2999-01-01T00:00:00Z"},
            {k: v for k, v in event("2026-11-20T10:00:00Z").items() if k != "name"},
            "not an object",
            event("2026-11-20T10:00:00Z", scroll_depth=101, name="engagement", engagement_ms=1),
        ],
    )
    assert summary.accepted == 1 and summary.rejected == 6
    assert [(e["line"], e["field"]) for e in summary.errors] == [
        (2, "url"),
        (3, "ip"),
        (4, "timestamp"),
        (5, "name"),
        (6, "body"),
        (7, "scroll_depth"),
    ]


def test_unordered_batch_builds_visits_in_time_order(svc: Services) -> None:
    ingest_events(
        svc.ingestor, [event("2026-11-20T10:10:00Z", "/second"), event("2026-11-20T10:00:00Z", "/first")]
    )
    [visit] = rows(svc, visits)
    assert (visit.entry_path, visit.exit_path, visit.pageviews) == ("/first", "/second", 2)


def test_no_raw_ip_or_user_agent_is_stored(svc: Services, settings: Any) -> None:
    ua = SAFARI_IPHONE + " UniqueMarker/9.9"
    ingest_events(svc.ingestor, [event("2026-11-20T10:00:00Z", ip="203.0.113.199", ua=ua)])
    with svc.db.sync.connect() as conn:  # every row of every table, as text
        tables = metadata.sorted_tables
        blob = "".join(str(tuple(row)) for table in tables for row in conn.execute(select(table)))
    if svc.db.is_sqlite:  # and on SQLite the bytes of the files themselves (WAL included)
        svc.db.checkpoint()
        blob += str(b"".join(p.read_bytes() for p in settings.data_dir.iterdir() if p.is_file()))
    assert "/" in blob and "acme.test" in blob  # the scan reads where the event went
    for secret in ("203.0.113.199", "UniqueMarker", "iPhone OS 17_4"):
        assert secret not in blob
