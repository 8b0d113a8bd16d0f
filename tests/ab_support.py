"""Helpers for the A/B tests (`tests/test_ab_*.py`): experiments, tracking bodies, row counts and
hand-built `experiment_events` rows."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest
from sqlalchemy import func, insert, select
from starlette.applications import Starlette

from analytics_mcp.experiments import Experiment, create_experiment
from analytics_mcp.services import Services
from analytics_mcp.storage.schema import events, experiment_events
from factories import CHROME_WIN, make_site, make_token

BROWSER = {"User-Agent": CHROME_WIN, "Accept-Language": "de-AT,de;q=0.9"}
TRACK = "/api/v1/metrics/track"
_row_ids = itertools.count(1_000_000)
DAYS = [f"2024-01-{d:02d}" for d in range(8, 16)]
RANGE = {"start_date": "2024-01-08", "end_date": "2024-01-15"}
# per day: (views, conversions) - the documented trend starts 80/3, 85/4, 90/5
CONTROL_DAYS = [(80, 3), (85, 4), (90, 5), (70, 3), (75, 3), (65, 2), (60, 2), (75, 3)]  # 600 / 25
VARIANT_DAYS = [(79, 2), (80, 3), (81, 3), (78, 2), (80, 3), (79, 2), (78, 2), (79, 3)]  # 634 / 20
CLICKS = {
    "control": {"hero-cta": 80, "pricing-pro-cta": 40},
    "variant-a": {"hero-cta": 154, "pricing-pro-cta": 116},
}


@pytest.fixture
def svc(app: Starlette) -> Services:
    """The app's services with acme's site (import this fixture into a test module to use it)."""
    services: Services = app.state.services
    make_site(services)
    return services


@pytest.fixture
def admin(svc: Services) -> dict[str, str]:
    """Headers with an admin-scoped token for `svc`'s tenant."""
    return {"Authorization": f"Bearer {make_token(svc, scopes=('admin',))}"}


def experiment(
    services: Services,
    domain: str = "acme.test",
    slug: str = "hero-test",
    variants: tuple[tuple[str, int], ...] = (("control", 50), ("variant-a", 50)),
    **kwargs: Any,
) -> Experiment:
    with services.db.sync.begin() as conn:
        return create_experiment(conn, domain, slug, list(variants), **kwargs)


def body(
    variant_id: int, event_type: str = "page_view", data: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "variant_id": variant_id,
        "event_type": event_type,
        "event_data": {"path": "/"} if data is None else data,
        "session_id": "sess_abc123",
        "visitor_id": "vis_xyz789",
        **extra,
    }


async def track(client: httpx2.AsyncClient, payload: Any, **headers: str) -> httpx2.Response:
    return await client.post(TRACK, json=payload, headers={**BROWSER, **headers})


def count(services: Services, table: Any = experiment_events, *where: Any) -> int:
    with services.events_db.sync.connect() as conn:
        stmt = select(func.count()).select_from(table)
        return int(conn.execute(stmt.where(*where) if where else stmt).scalar_one())


def stored(services: Services) -> tuple[int, int]:
    """(events rows, experiment_events rows): the two must always agree for A/B events."""
    return count(services, events), count(services, experiment_events)


def ms(day: str, hour: int = 12) -> int:
    """Epoch ms of `day` (YYYY-MM-DD) at `hour`:00 UTC."""
    return int(datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC).timestamp() * 1000)


class Rows:
    """Hand-built experiment_events rows (what the statistics read), inserted in one go."""

    def __init__(self, exp: Experiment) -> None:
        self.exp = exp
        self.rows: list[dict[str, Any]] = []

    def add(self, variant: str, visitor: int, kind: str, ts: int, **extra: Any) -> None:
        var = self.exp.variant(variant)
        assert var is not None
        self.rows.append(
            {
                "event_id": next(_row_ids),
                "experiment_id": self.exp.id,
                "variant_id": var.id,
                "ts": ts,
                "visitor_key": visitor,
                "type": kind,
                "element": extra.get("element"),
                "scroll_band": extra.get("band"),
                "amount_cents": extra.get("cents"),
            }
        )

    def save(self, services: Services) -> None:
        with services.events_db.sync.begin() as conn:
            conn.execute(insert(experiment_events), self.rows)


def seed_example(svc: Services) -> Experiment:
    """600 control visitors (25 convert), 634 variant-a (20 convert); each views one page on its
    day; 234 hero-cta and 156 pricing-pro-cta clicks; one scroll event per visitor."""
    exp = experiment(svc)
    rows = Rows(exp)
    visitor = 0
    for slug, days in (("control", CONTROL_DAYS), ("variant-a", VARIANT_DAYS)):
        clicks = [e for e, n in CLICKS[slug].items() for _ in range(n)]
        for day, (views, conversions) in zip(DAYS, days, strict=True):
            for i in range(views):
                visitor += 1
                ts = ms(day, 9 + i % 12)
                rows.add(slug, visitor, "page_view", ts)
                rows.add(slug, visitor, "scroll_depth", ts + 1, band=1 + visitor % 4)
                if i < conversions:
                    rows.add(slug, visitor, "conversion", ts + 2, cents=2900)
                if clicks:
                    rows.add(slug, visitor, "click", ts + 3, element=clicks.pop())
        assert not clicks
    rows.save(svc)
    return exp
