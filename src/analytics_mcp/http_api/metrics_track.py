"""Public A/B endpoints (docs/ab-testing.md), no token, CORS-open like the tracker:

- `POST /api/v1/metrics/track`: one event -> 201 `{"success": true, "message": "Event tracked
  successfully"}` once it is committed (a retry or duplicate gets the same 201 and is stored
  once); 400 naming the missing or invalid field or the unknown event type; 422 naming a field of
  the wrong JSON type or with a NUL character; 404 for an unknown variant, 409 when its
  experiment is not running; 413 over 8 KiB; 503 with Retry-After when storage fails. A bot or
  non-browser client gets 202 and nothing is stored (the pipeline's rule for every event).
- `GET /api/v1/metrics/experiment?site=DOMAIN[&experiment=SLUG]`: the running experiment's
  status and its variants' ids, slugs and weights, which /js/metrics.js uses to assign a variant
  (newest running one when the site runs several and none is named); nothing else of the
  experiment (its name and slug are the owner's business, this call is public).

The client's IP and User-Agent come from the request, exactly as for the tracker.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from analytics_mcp.experiments.dedup import TrackDedup
from analytics_mcp.experiments.events import TargetCache, TrackTarget, event_ids, to_pending
from analytics_mcp.experiments.store import running_for_site
from analytics_mcp.experiments.tracking import MAX_BODY_BYTES, TrackError, parse_track
from analytics_mcp.field_error import NUL_RULE, has_nul
from analytics_mcp.http_api.errors import ApiError
from analytics_mcp.http_api.framework import PublicRoute
from analytics_mcp.http_api.metrics_docs import CONFIG_OPERATIONS, TRACK_OPERATIONS
from analytics_mcp.http_api.tracker import (
    CORS_HEADERS,
    MAX_USER_AGENT,
    client_ip,
    json_response,
    read_body,
    unavailable,
)
from analytics_mcp.ingest.group_commit import IngestUnavailable
from analytics_mcp.ingest.wire import parse_json_body
from analytics_mcp.services import Services
from analytics_mcp.storage.accounts import get_site

CLOCK = time.time  # tests pin it
TRACKED = {"success": True, "message": "Event tracked successfully"}
CORS = {**CORS_HEADERS, "Access-Control-Allow-Methods": "GET, POST, OPTIONS"}


def _targets(request: Request) -> TargetCache:
    cache: TargetCache | None = getattr(request.app.state, "ab_targets", None)
    if cache is None:
        cache = request.app.state.ab_targets = TargetCache()
    return cache


def _dedup(request: Request, services: Services) -> TrackDedup:
    dedup: TrackDedup | None = getattr(request.app.state, "ab_dedup", None)
    if dedup is None:
        dedup = request.app.state.ab_dedup = TrackDedup(services.events_db, services.ingestor)
    return dedup


async def _target(services: Services, cache: TargetCache, variant_id: int) -> TrackTarget:
    found, target = cache.cached(variant_id)
    if not found:
        async with services.db.aio.connect() as conn:
            target = await conn.run_sync(lambda sync: cache.lookup(sync, variant_id))
    if target is None:
        raise ApiError(404, f"Variant {variant_id} not found.")
    if not target.running:
        raise ApiError(409, f"Variant {variant_id}: experiment '{target.experiment_slug}' is not running.")
    return target


async def _track(request: Request) -> Response:
    services: Services = request.app.state.services
    body = await read_body(request, MAX_BODY_BYTES)
    try:
        track = parse_track(parse_json_body(body))
    except TrackError as exc:
        errors: dict[str, list[str]] = {}
        for field, rule in exc.problems:
            errors.setdefault(field, []).append(rule)
        raise ApiError(exc.status, str(exc), errors) from None
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    target = await _target(services, _targets(request), track.variant_id)
    now = int(CLOCK() * 1000)
    ids = event_ids(target, track, now)
    pending = to_pending(
        target,
        track,
        event_id=ids.current,
        ts=now,
        ip=client_ip(request, services.settings),
        user_agent=request.headers.get("user-agent", "")[:MAX_USER_AGENT],
        language=request.headers.get("accept-language", "")[:200] or None,
    )
    try:
        outcome = await _dedup(request, services).submit(target.site_id, ids, pending)
    except IngestUnavailable as exc:
        raise unavailable(exc) from exc
    if outcome.status == "dropped":
        return json_response({"success": True, "message": f"Event not counted: {outcome.reason}"}, 202, CORS)
    return json_response(TRACKED, 201, CORS)


async def track_endpoint(request: Request) -> Response:
    if request.method == "OPTIONS":
        return Response(status_code=204, headers=CORS)
    try:
        return await _track(request)
    except ApiError as error:
        error.headers.update(CORS)  # the browser must be allowed to read the 400's message
        raise


async def experiment_config(request: Request) -> Response:
    if request.method == "OPTIONS":
        return Response(status_code=204, headers=CORS)
    services: Services = request.app.state.services
    domain = request.query_params.get("site", "")[:253]
    slug = request.query_params.get("experiment")
    if not domain:
        raise ApiError(400, "site: is required", {"site": ["is required"]}, headers=CORS)
    for name, value in (("site", domain), ("experiment", slug)):
        if has_nul(value):
            raise ApiError(400, f"{name}: {NUL_RULE}", {name: [NUL_RULE]}, headers=CORS)

    def load(conn: Any) -> dict[str, Any] | None:
        site = get_site(conn, domain)
        running = running_for_site(conn, site.id) if site else []
        chosen = [e for e in running if slug is None or e.slug == slug]
        if not chosen:
            return None
        experiment = chosen[-1]  # newest running
        return {
            "status": experiment.status,
            "variants": [{"id": v.id, "slug": v.slug, "weight": v.weight} for v in experiment.variants],
        }

    async with services.db.aio.connect() as conn:
        config = await conn.run_sync(load)
    if config is None:
        raise ApiError(404, "No running experiment on this site.", headers=CORS)
    return json_response(config, 200, {**CORS, "Cache-Control": "public, max-age=60"})


routes = (
    PublicRoute("/metrics/track", track_endpoint, TRACK_OPERATIONS),
    PublicRoute("/metrics/experiment", experiment_config, CONFIG_OPERATIONS),
)
