"""Experiment value objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from analytics_mcp.storage.account_types import Site

RUNNING = "running"
STOPPED = "stopped"
STATUSES = (RUNNING, STOPPED)
CONTROL_SLUG = "control"


@dataclass(frozen=True, slots=True)
class Variant:
    id: int  # the `variant_id` of a tracking call (docs/ab-testing.md)
    slug: str
    weight: int


@dataclass(frozen=True, slots=True)
class Experiment:
    id: int
    tenant_id: int
    site: Site
    slug: str
    name: str
    status: str
    created_at: str
    variants: tuple[Variant, ...]
    salt: bytes = field(repr=False)  # keys the hashes of client visitor ids

    @property
    def control(self) -> Variant:
        """The variant named `control`, else the first one created."""
        return next((v for v in self.variants if v.slug == CONTROL_SLUG), self.variants[0])

    def variant(self, slug: str) -> Variant | None:
        return next((v for v in self.variants if v.slug == slug), None)

    def as_json(self) -> dict[str, Any]:
        """What the CLI prints and the admin API answers (never the salt)."""
        return {
            "id": self.id,
            "site": self.site.domain,
            "slug": self.slug,
            "name": self.name,
            "status": self.status,
            "created_at": self.created_at,
            "control": self.control.slug,
            "variants": [{"id": v.id, "slug": v.slug, "weight": v.weight} for v in self.variants],
        }
