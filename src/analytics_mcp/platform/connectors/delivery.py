"""One outbound POST with retries: what every connector sends goes through `deliver`.

Retried with exponential backoff: connection failures, timeouts, 429 and 5xx answers (the
receiver may recover). Not retried: other 4xx answers (the request itself is wrong, sending it
again cannot help) and SSRF refusals. The last failure is raised as a `DeliveryError` whose
message is what the sync log records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import anyio
import httpx2

from analytics_mcp.platform.connectors.ssrf import OutboundRefused, SafeClient

MAX_ERROR_TEXT = 300


class DeliveryError(Exception):
    """A batch could not be delivered; str() is the sync log's error_message."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 3
    first_backoff_s: float = 1.0  # then doubled: 1 s, 2 s, ...


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


async def deliver(
    client: SafeClient, url: str, body: bytes, headers: Mapping[str, str], policy: RetryPolicy
) -> httpx2.Response:
    backoff = policy.first_backoff_s
    for attempt in range(1, policy.attempts + 1):
        try:
            response = await client.post(url, body, headers)
        except OutboundRefused as exc:
            raise DeliveryError(f"refused: {exc}") from None
        except httpx2.TimeoutException:
            failure = "timed out"
        except httpx2.HTTPError as exc:
            failure = f"connection failed: {type(exc).__name__}"
        else:
            if response.is_success:
                return response
            failure = f"HTTP {response.status_code}: {response.text[:MAX_ERROR_TEXT]}".strip()
            if not _retryable(response.status_code):
                raise DeliveryError(failure)
        if attempt == policy.attempts:
            raise DeliveryError(f"{failure} (after {attempt} attempts)")
        await anyio.sleep(backoff)
        backoff *= 2
    raise AssertionError("unreachable")
