"""stdio: `analytics-mcp mcp` as a subprocess, with the token and database from the environment.
The SDK client in both protocol eras, a raw newline-delimited JSON-RPC pipe (stdout carries
nothing else), revocation seen by a running server, and exit status 2 for a bad token."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from analytics_mcp.config import Settings
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.tools import TOOL_NAMES
from factories import make_site, make_token

CLI = [sys.executable, "-m", "analytics_mcp.cli", "mcp"]
DIRECT = [sys.executable, "-m", "analytics_mcp.tools.stdio"]


def environment(settings: Settings, token: str | None) -> dict[str, str]:
    env = {"ANALYTICS_DB_URL": settings.database_url, "ANALYTICS_DATA_DIR": str(settings.data_dir)}
    return env | ({"ANALYTICS_TOKEN": token} if token is not None else {})


def params(command: list[str], settings: Settings, token: str) -> StdioServerParameters:
    return StdioServerParameters(command=command[0], args=command[1:], env=environment(settings, token))


@pytest.mark.parametrize(("mode", "command"), [("auto", CLI), ("legacy", DIRECT)])
async def test_sdk_client_over_stdio(
    services: Services, settings: Settings, mode: str, command: list[str]
) -> None:
    make_site(services, "acme", "acme.test")
    make_site(services, "rival", "rival-secret.test")
    token = make_token(services, "acme")
    async with Client(params(command, settings, token), mode=mode) as client:
        assert [t.name for t in (await client.list_tools()).tools] == list(TOOL_NAMES)
        result = await client.call_tool("list-sites", {"tenant": "acme"})
        assert not result.is_error, result
        assert [s["domain"] for s in result.structured_content["sites"]] == ["acme.test"]  # type: ignore[index]
        foreign = await client.call_tool("list-sites", {"tenant": "rival"})
        assert foreign.is_error and "rival-secret" not in str(foreign)
        with services.db.sync.begin() as conn:
            live = accounts.verify_token(conn, token)
            assert live is not None
            accounts.revoke_token(conn, live.id)
        revoked = await client.call_tool("list-sites", {"tenant": "acme"})
        assert revoked.is_error
        assert revoked.content[0].text.endswith("tenant 'acme' not found or not accessible with this token")


async def test_stdout_carries_only_json_rpc(services: Services, settings: Settings) -> None:
    make_site(services, "acme", "acme.test")
    env = environment(settings, make_token(services, "acme"))
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={"PATH": "/usr/bin:/bin", **env},
    )
    assert proc.stdin and proc.stdout
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "pipe", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "list-sites", "arguments": {"tenant": "acme"}}},
    ]  # fmt: skip
    proc.stdin.write(b"".join(json.dumps(m).encode() + b"\n" for m in messages))
    await proc.stdin.drain()
    lines = []
    while not any(msg.get("id") == 2 for msg in lines):
        raw = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
        assert raw, "server closed stdout early"
        lines.append(json.loads(raw))  # every stdout line is one JSON-RPC message
    proc.stdin.close()
    rest, _err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert all(json.loads(line)["jsonrpc"] == "2.0" for line in rest.splitlines() if line.strip())
    assert all(msg["jsonrpc"] == "2.0" for msg in lines)
    answer = next(msg for msg in lines if msg.get("id") == 2)["result"]
    assert answer["structuredContent"]["sites"][0]["domain"] == "acme.test"
    assert "acme.test" in answer["content"][0]["text"]


@pytest.mark.parametrize("token", [None, "", "amcp_unknown", "ingest-only"])
def test_bad_token_exits_with_status_2(services: Services, settings: Settings, token: str | None) -> None:
    make_site(services, "acme", "acme.test")
    if token == "ingest-only":
        token = make_token(services, "acme", scopes=("ingest",))
    result = subprocess.run(
        CLI, env={"PATH": "/usr/bin:/bin", **environment(settings, token)}, capture_output=True, timeout=60
    )
    assert result.returncode == 2, result
    assert result.stdout == b""
    assert b"ANALYTICS_TOKEN" in result.stderr or b"scope" in result.stderr


def test_module_runs_directly(tmp_path: Path) -> None:
    """`python -m analytics_mcp.tools.stdio` refuses to start without a token too."""
    env = {"PATH": "/usr/bin:/bin", "ANALYTICS_DATA_DIR": str(tmp_path)}
    result = subprocess.run(DIRECT, env=env, capture_output=True, timeout=60)
    assert (result.returncode, result.stdout) == (2, b"")
    assert b"set ANALYTICS_TOKEN" in result.stderr
