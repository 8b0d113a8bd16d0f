"""Profile imports (`POST /api/v1/profiles`, docs/platform.md "Profiles"): each line names a
customer by the site's own `user_id`, with traits to merge (null removes one) and optionally the
site it belongs to (default: the tenant's first site). Lines are validated on their own; the good
ones are written in one transaction on the events database, the bad ones listed by line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from analytics_mcp.field_error import has_nul, validation_messages
from analytics_mcp.ingest.wire import BLANK_LINE, MAX_TRAITS, PropValue, is_invalid_line
from analytics_mcp.platform.memberships import profiles_db
from analytics_mcp.services import Services
from analytics_mcp.storage.account_types import Site
from analytics_mcp.storage.profiles import ProfileBatch

MAX_PROFILES = 10_000


class ProfileLine(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    user_id: Annotated[str, Field(min_length=1, max_length=200)]
    traits: dict[Annotated[str, Field(min_length=1, max_length=100)], PropValue] = Field(default_factory=dict)
    domain: Annotated[str, Field(min_length=1, max_length=253)] | None = None

    @field_validator("traits")
    @classmethod
    def _bounded(cls, value: dict[str, PropValue]) -> dict[str, PropValue]:
        if len(value) > MAX_TRAITS:
            raise ValueError(f"at most {MAX_TRAITS} traits")
        if has_nul(value):
            raise ValueError("must not contain NUL characters (\\u0000)")
        return value


@dataclass
class ProfileImport:
    accepted: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, line: int, field_name: str, message: str) -> None:
        self.rejected += 1
        self.errors.append({"line": line, "field": field_name, "message": message})


def _parse(number: int, raw: Any, sites: dict[str, int], result: ProfileImport) -> ProfileLine | None:
    if is_invalid_line(raw):
        result.reject(number, "body", "line is not valid JSON")
        return None
    try:
        line = ProfileLine.model_validate(raw)
    except ValidationError as exc:
        for name, message in validation_messages(exc):
            result.reject(number, name, message)
        return None
    if line.domain is not None and line.domain.lower() not in sites:
        result.reject(number, "domain", "not one of your sites")
        return None
    return line


async def import_profiles(
    services: Services, tenant_id: int, sites: Sequence[Site], lines: Sequence[Any]
) -> ProfileImport:
    """Validate every line, then upsert the valid ones in one transaction."""
    result = ProfileImport()
    by_domain = {site.domain.lower(): site.id for site in sites}
    default_site = min((site.id for site in sites), default=None)
    batch = ProfileBatch()
    for number, raw in enumerate(lines, start=1):
        if raw is BLANK_LINE:
            continue
        line = _parse(number, raw, by_domain, result)
        if line is None:
            continue
        site_id = by_domain[line.domain.lower()] if line.domain else default_site
        if site_id is None:
            result.reject(number, "domain", "the tenant has no site yet")
            continue
        batch.add(tenant_id, site_id, line.user_id, line.traits, None)
        result.accepted += 1
    if batch:
        async with profiles_db(services).aio.begin() as conn:
            await conn.run_sync(batch.write)
    return result
