"""Connectors that send a segment's members to outside tools, over SSRF-safe HTTP."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from analytics_mcp.platform.connectors import klaviyo, webhook
from analytics_mcp.platform.connectors.delivery import DeliveryError, RetryPolicy
from analytics_mcp.platform.connectors.model import Change, ConnectorConfig
from analytics_mcp.platform.connectors.ssrf import OutboundRefused, SafeClient

Sender = Callable[[SafeClient, ConnectorConfig, Change, RetryPolicy], Awaitable[None]]
SENDERS: dict[str, Sender] = {"webhook": webhook.send, "klaviyo": klaviyo.send}
CONNECTOR_TYPES = tuple(SENDERS)

__all__ = [
    "CONNECTOR_TYPES", "SENDERS", "Change", "ConnectorConfig", "DeliveryError", "OutboundRefused",
    "RetryPolicy", "SafeClient", "Sender",
]  # fmt: skip
