"""Demo A/B traffic: one running experiment on a demo site, with visitors who view, scroll, click,
sign up, download and pay, stored through the same mapping and pipeline as
`POST /api/v1/metrics/track` (`run_demo` calls `add_demo_experiment` after loading traffic)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime

from analytics_mcp.experiments.events import TrackTarget, event_ids, load_target, to_pending
from analytics_mcp.experiments.model import Experiment
from analytics_mcp.experiments.store import create_experiment, get_experiment
from analytics_mcp.experiments.tracking import parse_track
from analytics_mcp.ingest.event import PendingEvent
from analytics_mcp.services import Services
from analytics_mcp.storage.accounts import get_site
from analytics_mcp.timeutil import DAY_MS

DEMO_SLUG = "pricing-cta"
CHUNK = 2_000
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
)
# variant slug -> (hero-cta click, pro-cta click, conversion) probabilities: variant-a wins a bit
RATES = {"control": (0.18, 0.10, 0.040), "variant-a": (0.23, 0.12, 0.052)}


def add_demo_experiment(
    services: Services,
    domain: str,
    *,
    days: int = 14,
    daily_visitors: int = 150,
    end: datetime | None = None,
    seed: int = 11,
) -> Experiment:
    """Create the demo experiment on `domain` with `days` of traffic; an existing one is kept."""
    with services.db.sync.begin() as conn:
        site = get_site(conn, domain)
        assert site is not None, f"demo site {domain} missing"
        existing = get_experiment(conn, site.tenant_id, DEMO_SLUG)
        if existing is not None:
            return existing
        experiment = create_experiment(
            conn, domain, DEMO_SLUG, [("control", 50), ("variant-a", 50)], name="Pricing page CTA"
        )
        targets = {v.slug: load_target(conn, v.id) for v in experiment.variants}
    end_ms = int((end or datetime.now(UTC)).timestamp() * 1000)
    rng = random.Random(seed)
    chunk: list[PendingEvent] = []
    for index in range(days * daily_visitors):
        start = end_ms - rng.randrange(days * DAY_MS)
        slug = "control" if rng.random() < 0.5 else "variant-a"
        target = targets[slug]
        assert target is not None
        chunk.extend(_visit(rng, target, index, start))
        if len(chunk) >= CHUNK:
            services.ingestor.write_now(chunk)
            chunk = []
    if chunk:
        services.ingestor.write_now(chunk)
    return experiment


def _visit(rng: random.Random, target: TrackTarget, index: int, start: int) -> Iterator[PendingEvent]:
    hero, pro, convert = RATES[target.variant_slug]
    visitor = f"vis_demo{index:06d}"
    client = (f"100.{64 + index % 32}.{index // 250 % 250}.{index % 250 + 1}", rng.choice(USER_AGENTS))
    steps: list[tuple[str, dict[str, object]]] = [("page_view", {"path": "/pricing"})]
    if rng.random() < 0.75:
        steps.append(("scroll_depth", {"depth": rng.choice((10, 25, 50, 75, 100))}))
    if rng.random() < hero:
        steps.append(("click", {"element_id": "hero-cta", "element_text": "Get Started"}))
    if rng.random() < pro:
        steps.append(("click", {"element_id": "pricing-pro-cta"}))
    if rng.random() < 0.06:
        steps.append(("form_submit", {"form_id": "newsletter"}))
    if rng.random() < 0.03:
        steps.append(("download", {"app_key": "desktop", "platform": rng.choice(("mac", "windows"))}))
    if rng.random() < convert:
        tier, cents = rng.choice((("starter", 900), ("pro", 2900), ("pro", 2900)))
        checkout = {"plan_tier": tier, "amount_cents": cents, "stripe_session_id": f"cs_demo_{index}"}
        steps.append(("conversion", {**checkout, "billing_interval": "month"}))
    for step, (event_type, data) in enumerate(steps):
        raw = {
            "variant_id": target.variant_id,
            "event_type": event_type,
            "event_data": data,
            "session_id": f"sess_demo{index:06d}",
            "visitor_id": visitor,
        }
        track = parse_track(raw)
        ts = start + step * rng.randrange(5_000, 60_000)
        ids = event_ids(target, track, ts)
        yield to_pending(
            target, track, event_id=ids.current, ts=ts, ip=client[0], user_agent=client[1], language="en-US"
        )
