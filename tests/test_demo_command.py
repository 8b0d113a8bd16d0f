"""`analytics-mcp demo` as a user runs it: the real command in its own process, one day of traffic
in a temporary data directory, then serving. The printed token reads the API and the MCP endpoint,
and the dashboard's sign-in page and the health check answer."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from servers import start_listening


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The running demo: (base URL, the API token it printed)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("ANALYTICS_")}
    env["ANALYTICS_DATA_DIR"] = str(tmp_path / "data")
    output = tmp_path / "demo.log"
    proc, port = start_listening(
        lambda port: [sys.executable, "-m", "analytics_mcp.cli", "demo", "--days", "1", "--port", str(port)],
        env=env,
        output=output,
        timeout=120,
    )
    try:
        printed = output.read_text()
        token = re.search(r"API token:\s+(\S+)", printed)
        assert token is not None, printed
        assert f"Dashboard:  http://127.0.0.1:{port}/" in printed
        yield f"http://127.0.0.1:{port}", token[1]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            assert proc.wait(timeout=60) == 0, output.read_text()[-2000:]
        except subprocess.TimeoutExpired:
            proc.kill()
            raise


async def test_the_demo_serves_what_its_banner_promises(demo: tuple[str, str]) -> None:
    base, token = demo
    bearer = {"Authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient(base_url=base, timeout=30, follow_redirects=True) as http:
        assert (await http.get("/api/health")).status_code == 200
        login = await http.get("/dashboard")
        assert login.status_code == 200 and login.url.path == "/login"
        assert 'id="email"' in login.text and 'id="password"' in login.text

        overview = await http.get("/api/v1/stats/overview", params={"period": "7d"}, headers=bearer)
        assert overview.status_code == 200, overview.text
        assert overview.json()["data"]["visitors"] > 0
        assert (await http.get("/api/v1/stats/overview")).status_code == 401

    async with (
        httpx2.AsyncClient(headers=bearer, timeout=30) as mcp_http,
        Client(streamable_http_client(f"{base}/mcp/analytics", http_client=mcp_http), mode="auto") as client,
    ):
        sites = await client.call_tool("list-sites", {"tenant": "demo"})
        answer = await client.call_tool("analytics-overview", {"tenant": "demo", "period": "7d"})
    assert not sites.is_error and sites.structured_content is not None, sites.content
    domains = {site["domain"] for site in sites.structured_content["sites"]}
    assert domains == {"demo.analytics-mcp.local", "shop.analytics-mcp.local"}
    assert not answer.is_error and answer.structured_content is not None, answer.content
    assert answer.structured_content["visitors"] == overview.json()["data"]["visitors"]
