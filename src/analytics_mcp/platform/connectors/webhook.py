"""The `webhook` connector: batches of a segment's changes POSTed as JSON to an https URL.

Each request carries `X-Analytics-Timestamp` (Unix seconds) and `X-Analytics-Signature:
v1=<hex>`, the HMAC-SHA256 with the connector's secret over `<timestamp>.<body>`: the receiver
recomputes it over the raw body and refuses a timestamp more than 5 minutes from its clock, so a
recorded request cannot be replayed later. `X-Analytics-Delivery` is unique per request (for the
receiver's own de-duplication of retries).

Body: {"connector_id", "segment_id", "segment_name", "batch", "batches", "added": [user ids],
"removed": [user ids], "member_count", "synced_at"}; at most BATCH_SIZE ids per request.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import orjson
from ulid import ULID

from analytics_mcp.platform.connectors.delivery import RetryPolicy, deliver
from analytics_mcp.platform.connectors.model import Change, ConnectorConfig
from analytics_mcp.platform.connectors.ssrf import SafeClient

BATCH_SIZE = 1000
SIGNATURE_HEADER = "X-Analytics-Signature"
TIMESTAMP_HEADER = "X-Analytics-Timestamp"
REPLAY_WINDOW_S = 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signed: str, now: float | None = None) -> bool:
    """What a receiver does (used by the tests' receiver; documented in docs/platform.md)."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except ValueError:
        return False
    return age <= REPLAY_WINDOW_S and hmac.compare_digest(signature(secret, timestamp, body), signed)


def batches(change: Change) -> list[tuple[list[str], list[str]]]:
    """(added, removed) chunks of at most BATCH_SIZE ids together; one empty batch when nothing
    changed (the receiver still learns the sync happened)."""
    items = [("a", uid) for uid in change.added] + [("r", uid) for uid in change.removed]
    chunks = [items[i : i + BATCH_SIZE] for i in range(0, len(items), BATCH_SIZE)] or [[]]
    return [([u for k, u in c if k == "a"], [u for k, u in c if k == "r"]) for c in chunks]


async def send(client: SafeClient, config: ConnectorConfig, change: Change, policy: RetryPolicy) -> None:
    parts = batches(change)
    for number, (added, removed) in enumerate(parts, start=1):
        body = orjson.dumps(
            {
                "connector_id": config.id,
                "segment_id": change.segment_id,
                "segment_name": change.segment_name,
                "batch": number,
                "batches": len(parts),
                "added": added,
                "removed": removed,
                "member_count": change.member_count,
                "synced_at": change.synced_at,
            }
        )
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(config.secret, timestamp, body),
            "X-Analytics-Delivery": str(ULID()),
        }
        await deliver(client, config.url, body, headers, policy)
