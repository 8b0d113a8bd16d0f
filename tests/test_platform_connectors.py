"""Activation connectors against real loopback receivers (issue 15): a webhook receiver that
checks the HMAC signature and timestamp, a fake of Klaviyo's Bulk Import Profiles API that checks
the documented request, receivers that fail, time out and recover; SSRF refusals with the setting
off (nothing reaches the receiver)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from analytics_mcp.platform.activations import add_activation, list_activations
from analytics_mcp.platform.activations_sync import sync_all
from analytics_mcp.platform.connectors import RetryPolicy, SafeClient, webhook
from analytics_mcp.platform.connectors.delivery import DeliveryError, deliver
from analytics_mcp.platform.connectors.ssrf import OutboundRefused
from analytics_mcp.services import Services
from analytics_mcp.storage.plans_schema import activation_sync_logs
from factories import make_site
from platform_support import add_segment, snapshot
from servers import uvicorn_on_loopback

pytestmark = pytest.mark.backends("sqlite", "postgresql", "split")
SECRET = "s3cret-signing-key-0123456789"
API_KEY = "pk_test_0123456789abcdef"
LIST_ID = "VRgFBd"
FAST = RetryPolicy(attempts=3, first_backoff_s=0.01)


@dataclass
class Receiver:
    """Answers each request by the next planned mode ("ok", "fail", "hang"; then "ok")."""

    plan: list[str] = field(default_factory=list)
    bodies: list[Any] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    async def answer(self, request: Request, check: Any) -> Response:
        raw = await request.body()
        self.hosts.append(request.headers.get("host", ""))
        mode = self.plan.pop(0) if self.plan else "ok"
        if mode == "hang":
            await asyncio.sleep(2)
        if mode == "fail":
            return JSONResponse({"error": "down"}, status_code=500)
        problem = check(request, raw)
        if problem:
            self.problems.append(problem)
            return JSONResponse({"error": problem}, status_code=400)
        self.bodies.append(json.loads(raw))
        return JSONResponse({"data": {"type": "profile-bulk-import-job", "id": "job"}}, status_code=202)


def webhook_check(request: Request, raw: bytes) -> str | None:
    stamp = request.headers.get(webhook.TIMESTAMP_HEADER, "")
    signed = request.headers.get(webhook.SIGNATURE_HEADER, "")
    if not webhook.verify(SECRET, stamp, raw, signed):
        return "bad signature"
    return None


def klaviyo_check(request: Request, raw: bytes) -> str | None:
    """The documented request: headers, JSON:API body, profiles by external_id, the list."""
    if request.headers.get("authorization") != f"Klaviyo-API-Key {API_KEY}":
        return "authorization"
    if not request.headers.get("revision"):
        return "revision header"
    if request.headers.get("content-type") != "application/vnd.api+json":
        return "content-type"
    data = json.loads(raw)["data"]
    if data["type"] != "profile-bulk-import-job":
        return "type"
    profiles = data["attributes"]["profiles"]["data"]
    if not profiles or len(profiles) > 10_000:
        return "profiles count"
    for profile in profiles:
        if profile["type"] != "profile" or not profile["attributes"].get("external_id"):
            return "profile"
    lists = data.get("relationships", {}).get("lists", {}).get("data")
    if lists is not None and lists != [{"type": "list", "id": LIST_ID}]:
        return "lists"
    return None


@pytest.fixture
async def receivers() -> AsyncIterator[tuple[str, Receiver, Receiver]]:
    hook, klaviyo = Receiver(), Receiver()

    async def hook_endpoint(request: Request) -> Response:
        return await hook.answer(request, webhook_check)

    async def klaviyo_endpoint(request: Request) -> Response:
        return await klaviyo.answer(request, klaviyo_check)

    app = Starlette(
        routes=[
            Route("/hook", hook_endpoint, methods=["POST"]),
            Route("/api/profile-bulk-import-jobs", klaviyo_endpoint, methods=["POST"]),
        ]
    )
    async with uvicorn_on_loopback(app) as base:
        yield base, hook, klaviyo


def logs(services: Services, activation_id: int) -> list[tuple[str, int, str]]:
    table = activation_sync_logs.c
    query = select(table.status, table.user_count, table.error_message).where(
        table.activation_id == activation_id
    )
    with services.db.sync.connect() as conn:
        return [tuple(row) for row in conn.execute(query.order_by(table.id))]  # type: ignore[misc]


async def test_sync_sends_adds_and_removes_survives_failures_and_recovers(
    services: Services, receivers: tuple[str, Receiver, Receiver]
) -> None:
    base, hook, klaviyo = receivers
    services.settings.allow_private_webhooks = True
    services.settings.activation_timeout_s = 0.5
    tenant, site = make_site(services)
    segment = add_segment(services, tenant.id, "High LTV Buyers")
    snapshot(services, tenant.id, site.id, segment, 20500, ["u1", "u2", "u3"])
    with services.db.sync.begin() as conn:
        hook_id = add_activation(
            conn, tenant.id, segment, "webhook", url=f"{base}/hook", secret=SECRET, allow_http=True
        ).id
        klav_id = add_activation(
            conn, tenant.id, segment, "klaviyo", url=base, secret=API_KEY, list_id=LIST_ID, allow_http=True
        ).id
        chosen = list_activations(conn, tenant.id)

    results = await sync_all(services, chosen, FAST)
    assert [r.status for r in results] == ["success", "success"]
    assert hook.bodies[0]["added"] == ["u1", "u2", "u3"] and hook.bodies[0]["removed"] == []
    assert hook.bodies[0]["segment_name"] == "High LTV Buyers" and hook.bodies[0]["member_count"] == 3
    sent = klaviyo.bodies[0]["data"]["attributes"]["profiles"]["data"]
    assert [p["attributes"]["external_id"] for p in sent] == ["u1", "u2", "u3"]
    assert sent[0]["attributes"]["properties"] == {f"analytics_segment_{segment}": True}

    # The next day u1 left and u4 joined; the webhook fails, hangs past the timeout, fails again.
    snapshot(services, tenant.id, site.id, segment, 20501, ["u2", "u3", "u4"])
    hook.plan = ["fail", "hang", "fail"]
    results = await sync_all(services, chosen, FAST)
    assert [r.status for r in results] == ["error", "success"]  # klaviyo is not held back
    assert "HTTP 500" in results[0].error and "after 3 attempts" in results[0].error
    removed = klaviyo.bodies[-1]["data"]["attributes"]["profiles"]["data"]
    assert [p["attributes"]["properties"] for p in removed] == [{f"analytics_segment_{segment}": False}]
    assert "relationships" not in klaviyo.bodies[-1]["data"]  # removed members join no list

    # Recovered: the webhook gets the difference from its last successful sync.
    results = await sync_all(services, chosen, FAST)
    assert results[0].status == "success"
    assert hook.bodies[-1]["added"] == ["u4"] and hook.bodies[-1]["removed"] == ["u1"]
    assert hook.problems == [] and klaviyo.problems == []
    assert [(s, n) for s, n, _e in logs(services, hook_id)] == [("success", 3), ("error", 3), ("success", 3)]
    assert logs(services, hook_id)[1][2].startswith("HTTP 500")
    assert [s for s, _n, _e in logs(services, klav_id)] == ["success", "success", "success"]


async def test_a_timeout_is_retried_and_recovers_within_the_retries(
    services: Services, receivers: tuple[str, Receiver, Receiver]
) -> None:
    base, hook, _klaviyo = receivers
    hook.plan = ["hang", "fail"]
    async with SafeClient(allow_private=True, timeout_s=0.5) as client:
        response = await deliver(client, f"{base}/hook", b"{}", _signed(b"{}"), FAST)
    assert response.status_code == 202 and len(hook.hosts) == 3


def _signed(body: bytes) -> dict[str, str]:
    import time

    stamp = str(int(time.time()))
    return {webhook.TIMESTAMP_HEADER: stamp, webhook.SIGNATURE_HEADER: webhook.signature(SECRET, stamp, body)}


def test_signature_is_checked_and_old_timestamps_refused() -> None:
    body = b'{"added":["u1"]}'
    signed = webhook.signature(SECRET, "1000", body)
    assert webhook.verify(SECRET, "1000", body, signed, now=1000 + 300)
    assert not webhook.verify(SECRET, "1000", body, signed, now=1000 + 301)  # replayed later
    assert not webhook.verify(SECRET, "1000", body + b" ", signed, now=1000)
    assert not webhook.verify("another-secret-0123456789", "1000", body, signed, now=1000)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:{port}/hook", "loopback"),
        ("http://localhost:{port}/hook", "loopback"),
        ("http://[::1]:{port}/hook", "loopback"),
        ("http://10.1.2.3/hook", "private"),
        ("http://192.168.0.10/hook", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::ffff:127.0.0.1]:{port}/hook", "loopback"),
        ("http://user:pw@example.com/hook", "credentials"),
        ("ftp://example.com/hook", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
    ],
)
async def test_ssrf_targets_are_refused_with_the_setting_off(
    url: str, reason: str, receivers: tuple[str, Receiver, Receiver]
) -> None:
    base, hook, _klaviyo = receivers
    target = url.format(port=base.rsplit(":", 1)[1])
    async with SafeClient(allow_private=False, timeout_s=1) as client:
        with pytest.raises(OutboundRefused, match=reason):
            await client.post(target, b"{}", {})
        with pytest.raises(DeliveryError, match="refused"):
            await deliver(client, target, b"{}", {}, FAST)
    assert hook.hosts == []  # nothing reached the receiver


async def test_sync_to_a_refused_target_is_logged_as_an_error(
    services: Services, receivers: tuple[str, Receiver, Receiver]
) -> None:
    base, hook, _klaviyo = receivers
    tenant, site = make_site(services)
    segment = add_segment(services, tenant.id, "Newsletter")
    snapshot(services, tenant.id, site.id, segment, 20500, ["u1"])
    with services.db.sync.begin() as conn:
        activation = add_activation(
            conn, tenant.id, segment, "webhook", url=f"{base}/hook", secret=SECRET, allow_http=True
        )
    assert services.settings.allow_private_webhooks is False
    [result] = await sync_all(services, [activation], FAST)
    assert result.status == "error" and "loopback" in result.error
    assert logs(services, activation.id) == [("error", 1, result.error)] and hook.hosts == []


async def test_the_connection_goes_to_the_checked_address(
    receivers: tuple[str, Receiver, Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name is resolved once, checked, and that address is connected to (the
    Host header keeps the name); a second, different answer is never asked for."""
    from analytics_mcp.platform.connectors import ssrf

    base, hook, _klaviyo = receivers
    port = int(base.rsplit(":", 1)[1])
    answers = iter([["127.0.0.1"], ["203.0.113.9"]])
    calls: list[str] = []

    async def resolve(host: str, _port: int) -> list[Any]:
        calls.append(host)
        import ipaddress

        return [ipaddress.ip_address(a) for a in next(answers)]

    monkeypatch.setattr(ssrf, "resolve", resolve)
    async with SafeClient(allow_private=True, timeout_s=1) as client:
        response = await client.post(f"http://rebind.test:{port}/hook", b"{}", _signed(b"{}"))
    assert response.status_code == 202 and calls == ["rebind.test"]
    assert hook.hosts == [f"rebind.test:{port}"]
    async with SafeClient(allow_private=False, timeout_s=1) as client:
        with pytest.raises(OutboundRefused):  # the same name answering a public address: not used
            answers = iter([["127.0.0.1", "203.0.113.9"]])
            await client.post(f"http://rebind.test:{port}/hook", b"{}", {})


async def test_cli_adds_lists_syncs_and_removes_connectors(
    services: Services,
    receivers: tuple[str, Receiver, Receiver],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from analytics_mcp.cli import main

    base, hook, _klaviyo = receivers
    tenant, site = make_site(services)
    other, _ = make_site(services, "other", "other.test")
    segment = add_segment(services, tenant.id, "Buyers")
    other_segment = add_segment(services, other.id, "Theirs")
    snapshot(services, tenant.id, site.id, segment, 20500, ["u1", "u2"])
    _cli_environment(monkeypatch, services)
    add = ["activations", "add", "--tenant", "acme", "--type", "webhook", "--url", f"{base}/hook"]
    assert main([*add, "--segment", str(other_segment)]) == 2  # another tenant's segment
    assert "segment: not found" in capsys.readouterr().err
    assert main([*add, "--segment", str(segment)]) == 0
    created = json.loads(capsys.readouterr().out)
    assert len(created["secret"]) >= 32 and created["status"] == "active"
    assert main(["activations", "list", "--tenant", "acme"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["id"] == created["id"] and "secret" not in listed
    assert main(["activations", "list", "--tenant", "other"]) == 0 and capsys.readouterr().out == ""

    assert main(["activations", "remove", "--tenant", "acme", "--id", str(created["id"])]) == 0
    assert json.loads(capsys.readouterr().out) == {"removed": created["id"]}
    assert main([*add, "--segment", str(segment), "--secret", SECRET]) == 0
    created = json.loads(capsys.readouterr().out)
    assert "secret" not in created  # given, so not shown
    # In a thread: the command runs its own event loop, and the receiver is served by this one.
    sync = ["activations", "sync", "--tenant", "acme", "--id", str(created["id"])]
    assert await asyncio.to_thread(main, sync) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "success" and result["added"] == 2
    assert hook.bodies[-1]["added"] == ["u1", "u2"]
    foreign = ["activations", "sync", "--tenant", "other", "--id", str(created["id"])]
    assert await asyncio.to_thread(main, foreign) == 2  # another tenant's id: not found
    assert main(["activations", "remove", "--tenant", "other", "--id", str(created["id"])]) == 2
    assert main(["activations", "remove", "--tenant", "acme", "--id", str(created["id"])]) == 0


async def test_a_segment_computation_syncs_its_connectors(
    services: Services, receivers: tuple[str, Receiver, Receiver]
) -> None:
    """End to end: the data side computes a segment; the registered callback syncs its webhook."""
    from analytics_mcp.platform.activations_sync import register_activation_sync
    from analytics_mcp.platform.compute import compute_segments
    from segments_support import D, world
    from segments_support import add_segment as add_rule_segment

    base, hook, _klaviyo = receivers
    services.settings.allow_private_webhooks = True
    tenant = await asyncio.to_thread(world, services)  # profiles u1, u2 (free), u3; u1 and u3 are pro
    pro = [{"type": "trait", "trait": "plan", "op": "equals", "value": "pro"}]
    segment = await asyncio.to_thread(add_rule_segment, services, tenant, "Pro", pro)
    with services.db.sync.begin() as conn:
        add_activation(
            conn, tenant.id, segment, "webhook", url=f"{base}/hook", secret=SECRET, allow_http=True
        )
    register_activation_sync()
    await compute_segments(services, tenant.id, D, [segment])
    assert [(b["added"], b["removed"], b["member_count"]) for b in hook.bodies] == [(["u1", "u3"], [], 2)]
    assert hook.problems == []


async def test_cli_segments_compute_syncs_its_connectors(
    services: Services,
    receivers: tuple[str, Receiver, Receiver],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`analytics-mcp segments compute` registers the activation sync itself, as `serve` does."""
    from analytics_mcp.cli import main
    from analytics_mcp.platform import compute
    from segments_support import D, world
    from segments_support import add_segment as add_rule_segment

    monkeypatch.setattr(compute, "AFTER_COMPUTE", [])  # nothing registered by earlier tests
    base, hook, _klaviyo = receivers
    tenant = await asyncio.to_thread(world, services)  # u1 and u3 are pro
    pro = [{"type": "trait", "trait": "plan", "op": "equals", "value": "pro"}]
    segment = await asyncio.to_thread(add_rule_segment, services, tenant, "Pro", pro)
    with services.db.sync.begin() as conn:
        add_activation(
            conn, tenant.id, segment, "webhook", url=f"{base}/hook", secret=SECRET, allow_http=True
        )
    _cli_environment(monkeypatch, services)
    command = ["segments", "compute", "--tenant", tenant.slug, "--id", str(segment), "--day", D.isoformat()]
    assert await asyncio.to_thread(main, command) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["member_count"] == 2
    assert [(b["added"], b["removed"]) for b in hook.bodies] == [(["u1", "u3"], [])]


def _cli_environment(monkeypatch: pytest.MonkeyPatch, services: Services) -> None:
    """The CLI in this process reads the test's install and may reach loopback receivers."""
    settings = services.settings
    for name, value in (
        ("ANALYTICS_DATA_DIR", str(settings.data_dir)),
        ("ANALYTICS_DB_URL", settings.database_url),
        ("ANALYTICS_EVENTS_URL", settings.events_database_url),
        ("ANALYTICS_ALLOW_PRIVATE_WEBHOOKS", "true"),
    ):
        monkeypatch.setenv(name, value)
