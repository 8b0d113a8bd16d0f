"""Syncing activations: after each segment computation (`after_compute`) and on demand.

A sync sends the connector the difference between the segment's latest members and what its tool
has from the last successful sync (activation_members): adds and removes. Success applies that
difference and logs `success` with the segment's member count; any failure (after the retries
with backoff of connectors/delivery.py) logs `error` with the reason and leaves the tool's
members as they were, so the next sync sends the difference again. Connectors run concurrently,
each in its own try: one that fails or hangs (bounded by the request timeout and the retries)
never blocks or fails another. Paused connectors are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

import anyio
from sqlalchemy import Connection

from analytics_mcp.platform import memberships as ms
from analytics_mcp.platform.activations import (
    Activation,
    activations_of_segment,
    get_activation,
    list_activations,
    record_failure,
    record_success,
    synced_members,
)
from analytics_mcp.platform.compute import register_after_compute
from analytics_mcp.platform.connectors import SENDERS, Change, DeliveryError, RetryPolicy, SafeClient
from analytics_mcp.services import Services
from analytics_mcp.storage.account_types import AccountError
from analytics_mcp.timeutil import utcnow_iso

DEFAULT_POLICY = RetryPolicy()
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SyncResult:
    activation_id: int
    status: str  # success | error | skipped
    added: int
    removed: int
    error: str = ""


async def latest_members(services: Services, segment_id: int) -> tuple[int, set[str]] | None:
    """(day number, user ids) of the segment's latest computed snapshot; None if never computed."""
    latest = await ms.latest_of(services, [segment_id])
    if segment_id not in latest:
        return None
    day = latest[segment_id][0]
    return day, await ms.user_ids_on(services, segment_id, day)


async def _accounts(services: Services, fn: Callable[[Connection], T]) -> T:
    """`fn` in one transaction of the accounts database."""
    async with services.db.aio.begin() as conn:
        return await conn.run_sync(fn)


async def sync_one(
    services: Services, client: SafeClient, activation: Activation, policy: RetryPolicy
) -> SyncResult:
    synced_at = utcnow_iso()
    latest = await latest_members(services, activation.segment_id)
    if latest is None:
        message = "the segment has not been computed yet"
        await _accounts(services, lambda c: record_failure(c, activation.id, 0, message, synced_at))
        return SyncResult(activation.id, "error", 0, 0, message)
    day, members = latest
    previous = await _accounts(services, lambda c: synced_members(c, activation.id))
    added, removed = sorted(members - previous), sorted(previous - members)
    change = Change(activation.segment_id, activation.segment_name, added, removed, len(members), synced_at)
    try:
        await SENDERS[activation.connector_type](client, activation.config, change, policy)
    except DeliveryError as exc:
        error = str(exc)
        await _accounts(services, lambda c: record_failure(c, activation.id, len(members), error, synced_at))
        return SyncResult(activation.id, "error", len(added), len(removed), error)
    await _accounts(
        services,
        lambda c: record_success(c, activation.id, added, removed, len(members), day, synced_at),
    )
    return SyncResult(activation.id, "success", len(added), len(removed))


async def sync_all(
    services: Services, chosen: Sequence[Activation], policy: RetryPolicy = DEFAULT_POLICY
) -> list[SyncResult]:
    """Sync these activations concurrently; every one gets its result (and its log)."""
    settings = services.settings
    results: dict[int, SyncResult] = {}

    async def run(activation: Activation, client: SafeClient) -> None:
        if activation.status != "active":
            results[activation.id] = SyncResult(activation.id, "skipped", 0, 0, "paused")
            return
        results[activation.id] = await sync_one(services, client, activation, policy)

    async with (
        SafeClient(
            allow_private=settings.allow_private_webhooks, timeout_s=settings.activation_timeout_s
        ) as client,
        anyio.create_task_group() as group,
    ):
        for activation in chosen:
            group.start_soon(run, activation, client)
    return [results[a.id] for a in chosen]


async def after_compute(services: Services, segment_id: int, day: date) -> None:
    """Registered with the segment computation: sync the segment's connectors once its snapshot
    of `day` is stored (the latest snapshot is what is sent)."""
    del day  # the latest computed snapshot is read again: a later day may have been computed since
    chosen = await _accounts(services, lambda c: activations_of_segment(c, segment_id))
    await sync_all(services, chosen)


async def sync_segment(services: Services, tenant_id: int, segment_id: int) -> list[SyncResult]:
    chosen = await _accounts(services, lambda c: list_activations(c, tenant_id, segment_id))
    return await sync_all(services, chosen)


def register_activation_sync() -> None:
    """Sync a segment's connectors after each of its computations (app.py and the CLI's
    `segments compute` call this once; registering twice is harmless)."""
    register_after_compute(after_compute)


async def sync_activation(services: Services, tenant_id: int, activation_id: int) -> SyncResult:
    """On demand (CLI): one connector, paused or not."""
    found = await _accounts(services, lambda c: get_activation(c, tenant_id, activation_id))
    if found is None:
        raise AccountError("activation", "not found")
    settings = services.settings
    async with SafeClient(
        allow_private=settings.allow_private_webhooks, timeout_s=settings.activation_timeout_s
    ) as client:
        return await sync_one(services, client, found, DEFAULT_POLICY)
