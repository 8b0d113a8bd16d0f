"""The `klaviyo` connector: Klaviyo's Bulk Import Profiles API (JSON:API).

`POST {base_url}/api/profile-bulk-import-jobs` with `Authorization: Klaviyo-API-Key <private
key>`, `revision: <date>`, `Content-Type`/`Accept: application/vnd.api+json`; at most 10,000
profiles per job (and 5 MB). Body:

    {"data": {"type": "profile-bulk-import-job",
              "attributes": {"profiles": {"data": [
                  {"type": "profile", "attributes": {"external_id": "...", "properties": {...}}}]}},
              "relationships": {"lists": {"data": [{"type": "list", "id": "<list id>"}]}}}}

Klaviyo answers 202 with the job. Profiles are identified by `external_id` (the site's own user
id). The import is an upsert and cannot take profiles off a list by external id, so each profile
carries the property `analytics_segment_<id>`: true for members added, false for members removed
(Klaviyo segments can select on it); added members also join the list when one is configured.
"""

from __future__ import annotations

from typing import Any

import orjson

from analytics_mcp.platform.connectors.delivery import RetryPolicy, deliver
from analytics_mcp.platform.connectors.model import Change, ConnectorConfig
from analytics_mcp.platform.connectors.ssrf import SafeClient

DEFAULT_BASE_URL = "https://a.klaviyo.com"
REVISION = "2026-10-15"
JOB_PATH = "/api/profile-bulk-import-jobs"
MAX_PROFILES = 10_000
MEDIA_TYPE = "application/vnd.api+json"


def membership_property(segment_id: int) -> str:
    return f"analytics_segment_{segment_id}"


def _profile(user_id: str, prop: str, member: bool) -> dict[str, Any]:
    return {"type": "profile", "attributes": {"external_id": user_id, "properties": {prop: member}}}


def job_body(profiles: list[dict[str, Any]], list_id: str | None) -> bytes:
    data: dict[str, Any] = {
        "type": "profile-bulk-import-job",
        "attributes": {"profiles": {"data": profiles}},
    }
    if list_id:
        data["relationships"] = {"lists": {"data": [{"type": "list", "id": list_id}]}}
    return orjson.dumps({"data": data})


async def send(client: SafeClient, config: ConnectorConfig, change: Change, policy: RetryPolicy) -> None:
    prop = membership_property(change.segment_id)
    url = config.url.rstrip("/") + JOB_PATH
    headers = {
        "Authorization": f"Klaviyo-API-Key {config.secret}",
        "revision": REVISION,
        "Content-Type": MEDIA_TYPE,
        "Accept": MEDIA_TYPE,
    }
    # Added members join the list; removed ones only get the property (no list relationship).
    for members, is_member in ((change.added, True), (change.removed, False)):
        for start in range(0, len(members), MAX_PROFILES):
            profiles = [_profile(uid, prop, is_member) for uid in members[start : start + MAX_PROFILES]]
            list_id = config.list_id if is_member else None
            await deliver(client, url, job_body(profiles, list_id), headers, policy)
