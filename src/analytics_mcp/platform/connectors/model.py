"""What a connector is given: its configuration and the change to send."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConnectorConfig:
    id: int
    type: str  # webhook | klaviyo
    url: str  # webhook: the receiver; klaviyo: the API base URL
    secret: str  # webhook: the HMAC key; klaviyo: the private API key
    list_id: str | None = None  # klaviyo: the list the segment's members are added to


@dataclass(frozen=True, slots=True)
class Change:
    """A segment's members added and removed since the last successful sync."""

    segment_id: int
    segment_name: str
    added: list[str]
    removed: list[str]
    member_count: int
    synced_at: str
