"""`POST /api/v1/profiles`: import or update customer profiles (token with the `ingest` scope).

The body is NDJSON or a JSON array of up to 10,000 `{"user_id", "traits", "domain"}` objects.
Each line is validated on its own: the good ones are stored before the reply, the bad ones are
listed with their line, field and rule (as `POST /api/v1/events`).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from analytics_mcp.http_api.events import LineError, every_line_rejected, read_batch
from analytics_mcp.http_api.framework import ApiContext, RouteTable
from analytics_mcp.platform.profiles import MAX_PROFILES, import_profiles
from analytics_mcp.storage import accounts

MAX_PROFILES_BYTES = 20 * 1024 * 1024
routes = RouteTable()


class ProfilesResult(BaseModel):
    accepted: int = Field(description="Profiles created or updated (committed before this reply)")
    rejected: int = Field(description="Invalid lines, listed in errors")
    errors: list[LineError]


@routes.route(
    "/profiles",
    method="POST",
    scope="ingest",
    response=ProfilesResult,
    errors=(400, 413, 422),
    summary="Import customer profiles",
    tags=("profiles",),
)
async def send_profiles(ctx: ApiContext) -> ProfilesResult:
    """NDJSON or a JSON array of profiles: `user_id`, `traits` (merged; null removes a trait) and
    optionally `domain` (one of your sites; default your first site)."""
    lines = await read_batch(ctx, MAX_PROFILES_BYTES, MAX_PROFILES, "profiles")
    sites = await ctx.db(lambda conn: accounts.list_sites(conn, ctx.tenant.id))
    result = await import_profiles(ctx.services, ctx.tenant.id, sites, lines)
    if not result.accepted and result.rejected:
        raise every_line_rejected(result.errors)
    return ProfilesResult.model_validate(result, from_attributes=True)
