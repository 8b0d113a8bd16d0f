"""Plans and subscriptions (issue 15): billing periods, usage against the limits, and every
limit enforced - AI credits (429), active segments (403), events over 110% of the period's limit
(dropped with reason `quota`). Numbers are worked out by hand in the comments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx2
import orjson
import pytest
from starlette.applications import Starlette

from analytics_mcp.cli import main
from analytics_mcp.config import Settings
from analytics_mcp.http_api import platform_analytics
from analytics_mcp.http_api.errormap import to_api_error
from analytics_mcp.ingest.quota import quota_cap
from analytics_mcp.platform.plans import check_segment_limit
from analytics_mcp.services import Services
from analytics_mcp.storage.subscriptions import LimitReached, current_period
from factories import FIREFOX_LINUX, event, make_site, make_token
from platform_support import add_chat_request, add_segment, snapshot, subscribe

pytestmark = pytest.mark.backends("sqlite", "postgresql", "split")
D = date.fromisoformat


@pytest.mark.parametrize(
    ("start", "end", "today", "expected"),
    [
        ("2026-05-01", "2026-05-31", "2026-05-01", ("2026-05-01", "2026-05-31")),  # first day
        ("2026-05-01", "2026-05-31", "2026-05-31", ("2026-05-01", "2026-05-31")),  # last day
        ("2026-05-01", "2026-05-31", "2026-06-01", ("2026-06-01", "2026-06-30")),  # renewed monthly
        ("2026-05-01", "2026-05-31", "2027-02-28", ("2027-02-01", "2027-02-28")),
        ("2026-01-31", "2026-02-27", "2026-02-28", ("2026-02-28", "2026-03-30")),  # the 31st: month ends
        ("2026-05-15", "2026-06-14", "2026-06-15", ("2026-06-15", "2026-07-14")),  # mid-month anchor
        ("2026-01-01", "2026-03-31", "2026-04-01", ("2026-04-01", "2026-06-30")),  # quarterly
        ("2026-05-01", "2026-05-10", "2026-05-11", ("2026-05-11", "2026-05-20")),  # 10-day periods
        ("2026-05-01", "2026-05-10", "2026-05-25", ("2026-05-21", "2026-05-30")),
        ("2026-05-01", "2026-05-31", "2026-04-30", ("2026-05-01", "2026-05-31")),  # not begun yet
    ],
)
def test_billing_period_boundaries(start: str, end: str, today: str, expected: tuple[str, str]) -> None:
    first, last = current_period(D(start), D(end), D(today))
    assert (first.isoformat(), last.isoformat()) == expected


def test_quota_cap_is_110_percent_rounded_down() -> None:
    assert quota_cap(100) == 110 and quota_cap(15) == 16 and quota_cap(0) == 0 and quota_cap(-1) is None


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def services_of(app: Starlette) -> Services:
    services: Services = app.state.services
    return services


async def test_usage_is_404_without_a_subscription_and_counts_the_period(
    app: Starlette, client: httpx2.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = services_of(app)
    tenant, site = make_site(services)
    other, other_site = make_site(services, "other", "other.test")
    token = make_token(services)
    monkeypatch.setattr(platform_analytics, "analytics_now", lambda: datetime(2026, 5, 20, 9, tzinfo=UTC))
    missing = await client.get("/api/analytics/usage/", headers=auth(token))
    assert missing.status_code == 404 and missing.json()["message"] == "This account has no subscription."

    subscribe(
        services, tenant.id, "starter", D("2026-05-01"), D("2026-05-31"), events=100, users=20, segments=10
    )
    subscribe(services, other.id, "pro", D("2026-05-01"), D("2026-05-31"))
    # Events: 2 in the period (its first second and its last), 1 the day before, 1 the day after,
    # an engagement report (not an event of its own), and the other tenant's event.
    lines = [
        event("2026-05-01T00:00:00Z", "/a"),
        event("2026-05-31T23:59:59Z", "/b", ip="198.51.100.11"),
        event("2026-04-30T23:59:59Z", "/c", ip="198.51.100.12"),
        event("2026-06-01T00:00:00Z", "/d", ip="198.51.100.13"),
        event("2026-05-01T00:00:05Z", "/a", name="engagement", engagement_ms=4000),
        event("2026-05-10T10:00:00Z", "/x", domain="other.test"),
    ]
    ingest = make_token(services, scopes=("ingest",))
    other_ingest = make_token(services, "other", scopes=("ingest",))
    sent = await client.post("/api/v1/events", json=lines[:5], headers=auth(ingest))
    assert sent.json()["data"]["accepted"] == 5
    await client.post("/api/v1/events", json=lines[5:], headers=auth(other_ingest))
    # Segments: 2 active + 1 archived; profiles: 3 of ours, 2 of the other tenant's.
    first = add_segment(services, tenant.id, "A")
    add_segment(services, tenant.id, "B")
    add_segment(services, tenant.id, "C", status="archived")
    snapshot(services, tenant.id, site.id, first, 20500, ["u1", "u2", "u3"])
    other_segment = add_segment(services, other.id, "X")
    snapshot(services, other.id, other_site.id, other_segment, 20500, ["z1", "z2"])
    # Credits: 2 spent in May, a refunded one (0), one in April; the other tenant's.
    add_chat_request(services, tenant.id, D("2026-05-01"), "success")
    add_chat_request(services, tenant.id, D("2026-05-31"), "error")
    add_chat_request(services, tenant.id, D("2026-05-15"), "error", credits=0)
    add_chat_request(services, tenant.id, D("2026-04-30"), "success")
    add_chat_request(services, other.id, D("2026-05-02"), "success")

    body = (await client.get("/api/analytics/usage/", headers=auth(token))).json()
    assert body == {
        "plan_name": "Starter",
        "plan_tier": "starter",
        "period_start": "2026-05-01",
        "period_end": "2026-05-31",
        "events": {"used": 2, "limit": 100},
        "users": {"used": 3, "limit": 20},
        "segments": {"used": 2, "limit": 10},
        "ai_credits": {"used": 2, "limit": 0},
    }
    # June 1st: the period renews; May's events and credits no longer count.
    monkeypatch.setattr(platform_analytics, "analytics_now", lambda: datetime(2026, 6, 1, 0, tzinfo=UTC))
    june = (await client.get("/api/analytics/usage/", headers=auth(token))).json()
    assert (june["period_start"], june["period_end"]) == ("2026-06-01", "2026-06-30")
    assert june["events"]["used"] == 1 and june["ai_credits"]["used"] == 0


async def test_events_over_110_percent_are_dropped_with_reason_quota(
    app: Starlette, client: httpx2.AsyncClient
) -> None:
    services = services_of(app)
    tenant, _site = make_site(services)
    today = datetime.now(UTC).date()
    subscribe(services, tenant.id, "starter", today.replace(day=1), today + timedelta(days=40), events=10)
    ingest = make_token(services, scopes=("ingest",))
    # Cap: 110% of 10 = 11 events. Two already stored, then 12 more: 9 fit, 3 are dropped.
    now = datetime.now(UTC).replace(microsecond=0)
    stamp = lambda i: (now - timedelta(seconds=60 - i)).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    first = [event(stamp(i), f"/p{i}", ip=f"198.51.100.{i + 1}") for i in range(2)]
    assert (await client.post("/api/v1/events", json=first, headers=auth(ingest))).json()["data"][
        "accepted"
    ] == 2
    more = [event(stamp(i), f"/p{i}", ip=f"198.51.100.{i + 1}") for i in range(2, 14)]
    answer = (await client.post("/api/v1/events", json=more, headers=auth(ingest))).json()["data"]
    assert (answer["accepted"], answer["dropped"], answer["dropped_reasons"]) == (9, 3, {"quota": 3})
    # The tracker says so per event.
    tracked = await client.post(
        "/api/event",
        json={"name": "pageview", "url": "https://acme.test/t", "domain": "acme.test"},
        headers={"User-Agent": FIREFOX_LINUX},
    )
    assert tracked.status_code == 202 and tracked.json() == {"status": "dropped", "reason": "quota"}


async def test_ai_credits_of_the_billing_period_are_enforced(
    app: Starlette, client: httpx2.AsyncClient
) -> None:
    services = services_of(app)
    tenant, _site = make_site(services, plan="pro")
    services.settings.anthropic_api_key = "test-key"  # refused before any model call
    token = make_token(services)
    today = datetime.now(UTC).date()
    start = today - timedelta(days=3)
    subscribe(services, tenant.id, "pro", start, start + timedelta(days=9), ai_credits=2)
    add_chat_request(services, tenant.id, start - timedelta(days=1), "success")  # previous period
    add_chat_request(services, tenant.id, start, "success")
    status = (await client.get("/api/v1/chat/status", headers=auth(token))).json()["data"]
    assert status["credits"] == {"used": 1, "limit": 2, "renews_on": (start + timedelta(days=10)).isoformat()}
    add_chat_request(services, tenant.id, today, "success")
    refused = await client.post("/api/v1/chat", json={"message": "hi"}, headers=auth(token))
    assert refused.status_code == 429 and refused.json()["code"] == "credits_exhausted"
    assert refused.json()["message"] == (
        "This billing period's AI credits are used up (2 of 2 on the Pro plan). "
        f"They renew on {(start + timedelta(days=10)).isoformat()}."
    )


def test_segment_limit_is_refused_with_403(services: Services) -> None:
    tenant, _site = make_site(services)
    today = datetime.now(UTC).date()
    subscribe(services, tenant.id, "starter", today, today + timedelta(days=30), segments=2)
    add_segment(services, tenant.id, "A")
    add_segment(services, tenant.id, "Old", status="archived")  # archived ones do not count
    check_segment_limit(services, tenant.id)  # 1 of 2 active: one more is allowed
    add_segment(services, tenant.id, "B")
    with pytest.raises(LimitReached) as caught:
        check_segment_limit(services, tenant.id)
    error = to_api_error(caught.value)
    assert error is not None and error.status == 403
    assert error.message == "The Starter plan allows at most 2 active segments; this account has reached it."


def test_without_a_subscription_the_plan_limits_segments(services: Services) -> None:
    tenant, _site = make_site(services, plan="free")  # the free plan has no segments
    with pytest.raises(LimitReached):
        check_segment_limit(services, tenant.id)


def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads its settings from the environment: point it at this test's databases."""
    monkeypatch.setenv("ANALYTICS_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ANALYTICS_DB_URL", settings.database_url)
    monkeypatch.setenv("ANALYTICS_EVENTS_URL", settings.events_database_url)


def test_cli_sets_shows_and_removes_a_subscription(
    services: Services,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_site(services)
    cli_env(settings, monkeypatch)
    code = main(
        ["plans", "set", "--tenant", "acme", "--tier", "starter", "--period-start", "2026-05-01",
         "--period-end", "2026-05-31", "--events", "100000", "--users", "20000", "--ai-credits", "100"]
    )  # fmt: skip
    assert code == 0
    shown = orjson.loads(capsys.readouterr().out)
    assert shown["limits"] == {"events": 100000, "users": 20000, "segments": 10, "ai_credits": 100}
    assert shown["plan_name"] == "Starter" and shown["period_start"] == "2026-05-01"
    assert main(["plans", "show", "--tenant", "acme"]) == 0
    assert orjson.loads(capsys.readouterr().out)["plan_tier"] == "starter"
    assert main(["plans", "set", "--tenant", "acme", "--tier", "starter", "--events", "-2"]) == 2
    assert main(["plans", "remove", "--tenant", "acme"]) == 0
    assert main(["plans", "show", "--tenant", "acme"]) == 2
    assert "has no subscription" in capsys.readouterr().err
