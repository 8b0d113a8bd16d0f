"""Two tenants whose every piece of data carries a marker string of its own tenant: a site, two
goals, a running A/B experiment with tracked clicks, a chat conversation, a dashboard owner, a
subscription, a segment with a connector and its failed sync, and traffic (pages, a custom event
with props, UTM tags, a referrer, a purchase) from the last hours.

A response for tenant A that contains any of B's markers has leaked B's data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from ab_support import Rows
from analytics_mcp.chat.models import Actor
from analytics_mcp.chat.store import create_conversation, new_id
from analytics_mcp.experiments import create_experiment
from analytics_mcp.http_api import csrf
from analytics_mcp.http_api.auth import SESSION_COOKIE
from analytics_mcp.ingest.bulk_import import ingest_events
from analytics_mcp.platform.activations import add_activation, record_failure
from analytics_mcp.platform.segments import list_segments
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.platform_schema import segments
from analytics_mcp.storage.sessions import create_session
from analytics_mcp.storage.subscriptions import new_subscription, save_subscription
from factories import CHROME_WIN, FIREFOX_LINUX, event, make_token

ALL_SCOPES = ("read", "ingest", "admin")
PASSWORD = "a long enough password"


def names(tag: str) -> dict[str, str]:
    """What each of tenant `tag`'s names is -> the name; each one is a marker of the tenant."""
    return {
        "tenant slug": f"{tag}-tenant",
        "tenant name": f"{tag.upper()} Tenant Corp",
        "site domain": f"{tag}-site.test",
        "owner email": f"owner@{tag}-site.test",
        "page path": f"/{tag}-secret-page",
        "event name": f"{tag}_secret_event",
        "prop key": f"{tag}_prop_key",
        "prop value": f"{tag}-prop-value",
        "utm source": f"{tag}-utm-source",
        "utm medium": f"{tag}-utm-medium",
        "utm campaign": f"{tag}-utm-campaign",
        "referrer": f"{tag}-referrer.test",
        "product": f"{tag} secret product",
        "sku": f"{tag}-sku",
        "transaction": f"{tag}-txn",
        "url goal": f"{tag} secret page goal",
        "event goal": f"{tag} secret event goal",
        "experiment slug": f"{tag}-experiment",
        "experiment name": f"{tag} secret experiment",
        "control variant": f"{tag}-control",
        "variant": f"{tag}-variant",
        "cta element": f"{tag}-cta-element",
        "conversation title": f"{tag} secret conversation",
        "plan name": f"{tag} secret plan",
        "segment name": f"{tag} secret segment",
        "hook host": f"{tag}-hook.test",
        "sync error": f"{tag} secret sync error",
    }


# How a request names a tenant's resource of each kind (see leak_check.NONEXISTENT).
IDENTIFIERS = {
    "site": "site domain",
    "goal": "goal id",
    "experiment": "experiment slug",
    "variant": "variant",
    "conversation": "conversation id",
    "email": "owner email",
    "tenant": "tenant slug",
    "variant_id": "variant id",
    "segment": "segment id",
}


@dataclass(frozen=True)
class Tenant:
    """One tenant's names and the ids of what was made for it: all of them its markers."""

    tag: str  # "zqa" / "zqb": every name starts with it
    goal_id: str
    variant_ids: tuple[int, ...]
    conversation_id: str
    token: str  # read, ingest and admin
    session_cookie: str
    session_csrf: str
    segment_id: int = 0  # an id, not a marker: numbers appear in every answer

    @property
    def markers(self) -> dict[str, str]:
        """What each marker is -> the marker. None of these may reach another tenant."""
        made = {"goal id": self.goal_id, "conversation id": self.conversation_id}
        return {**names(self.tag), **made}

    def identifier(self, kind: str) -> str:
        if kind == "variant_id":
            return str(self.variant_ids[0])
        if kind == "segment":
            return str(self.segment_id)
        return self.markers[IDENTIFIERS[kind]]

    @property
    def slug(self) -> str:
        return self.identifier("tenant")

    @property
    def domain(self) -> str:
        return self.identifier("site")

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def session(self) -> dict[str, str]:
        """Cookie and CSRF header of the owner's dashboard session."""
        return {"Cookie": f"{SESSION_COOKIE}={self.session_cookie}", csrf.HEADER: self.session_csrf}


def ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def traffic(markers: dict[str, str]) -> list[dict[str, Any]]:
    """A few visits of the last hours, each carrying the tenant's markers somewhere."""
    domain, page = markers["site domain"], markers["page path"]
    utm = f"?utm_source={markers['utm source']}&utm_medium={markers['utm medium']}"
    utm += f"&utm_campaign={markers['utm campaign']}"
    purchase = {
        "revenue": {"amount": 42.5, "currency": "EUR"},
        "transaction_id": markers["transaction"],
        "items": [{"item_id": markers["sku"], "item_name": markers["product"], "price": 42.5}],
    }
    return [
        event(ago(3), page + utm, domain=domain, ip="198.51.100.21", referrer=f"https://{markers['referrer']}/"),
        event(ago(2.9), page, domain=domain, ip="198.51.100.21", name=markers["event name"],
              props={markers["prop key"]: markers["prop value"]}),
        event(ago(2.8), "/checkout", domain=domain, ip="198.51.100.21", name="purchase", **purchase),
        event(ago(2), page, domain=domain, ip="198.51.100.22", ua=FIREFOX_LINUX),
        event(ago(1), "/", domain=domain, ip="198.51.100.23", ua=CHROME_WIN, language="de"),
    ]  # fmt: skip


def platform_ops(services: Services, marks: dict[str, str]) -> None:
    """A subscription, a segment with a webhook connector and a failed sync, all marked."""
    with services.db.sync.begin() as conn:
        tenant = accounts.get_tenant(conn, marks["tenant slug"])
        assert tenant is not None
        today = datetime.now(UTC).date()
        sub = new_subscription(tenant.id, "business", today, today, plan_name=marks["plan name"])
        save_subscription(conn, sub)
        stamp = {"created_at": "2026-05-01T00:00:00Z", "updated_at": "2026-05-01T00:00:00Z"}
        segment = {"tenant_id": tenant.id, "name": marks["segment name"], "rules": "[]", "match": "all"}
        key = conn.execute(insert(segments).values(**segment, status="active", **stamp)).inserted_primary_key
        assert key is not None
        url = f"https://{marks['hook host']}/hook"
        hook = add_activation(conn, tenant.id, int(key[0]), "webhook", url=url, secret="0123456789abcdef")
        record_failure(conn, hook.id, 0, marks["sync error"], "2026-05-01T00:00:00Z")


def make_tenant(services: Services, tag: str) -> Tenant:
    """Tenant `tag` with everything above, stored through the same functions the app uses."""
    marks = names(tag)
    slug, domain = marks["tenant slug"], marks["site domain"]
    with services.db.sync.begin() as conn:
        accounts.create_tenant(conn, slug, name=marks["tenant name"], plan="business")
        accounts.add_site(conn, slug, domain)
    token = make_token(services, slug, scopes=ALL_SCOPES)
    variants = (marks["control variant"], marks["variant"])
    with services.db.sync.begin() as conn:
        goal = accounts.add_goal(conn, domain, marks["url goal"], path=marks["page path"])
        accounts.add_goal(conn, domain, marks["event goal"], event=marks["event name"])
        pairs = [(variant, 50) for variant in variants]
        experiment = create_experiment(
            conn, domain, marks["experiment slug"], pairs, name=marks["experiment name"]
        )
        session = create_session(conn, accounts.create_user(conn, marks["owner email"], slug, PASSWORD))
        api_token = accounts.verify_token(conn, token)
        assert api_token is not None
        conversation = new_id()
        owner = Actor(api_token.tenant, token_id=api_token.id)
        create_conversation(conn, owner, marks["conversation title"], conversation)
    visits = traffic(marks)
    summary = ingest_events(services.ingestor, visits)
    assert summary.accepted == len(visits), summary
    rows = Rows(experiment)
    an_hour_ago = int(datetime.now(UTC).timestamp() * 1000) - 3_600_000
    for visitor, variant in enumerate(variants * 3):
        rows.add(variant, visitor, "page_view", an_hour_ago)
        rows.add(variant, visitor, "click", an_hour_ago + 1, element=marks["cta element"])
    rows.save(services)
    platform_ops(services, marks)
    return Tenant(
        tag=tag,
        goal_id=goal.id,
        variant_ids=tuple(variant.id for variant in experiment.variants),
        conversation_id=conversation,
        token=token,
        session_cookie=session,
        session_csrf=csrf.session_token(services.settings.session_secret(), session),
        segment_id=segment_of(services, slug),
    )


def segment_of(services: Services, slug: str) -> int:
    """The id of the tenant's first segment (0 when it has none)."""
    with services.db.sync.connect() as conn:
        tenant = accounts.get_tenant(conn, slug)
        assert tenant is not None
        return next((s.id for s in list_segments(conn, tenant.id, status=None)), 0)
