# ruff: noqa: F811  (the fixtures imported from chat_support are redefined as parameters)
"""The chat through a real uvicorn: the SSE stream arrives event by event (read with httpx2), and a
client that goes away stops the work and is logged as cancelled."""

from __future__ import annotations

import asyncio
import time

import httpx2
from starlette.applications import Starlette

from chat_support import (  # noqa: F401  (fixtures)
    SseEvent,
    fake,
    parse_sse,
    request_rows,
    seed,
    services_of,
    settings,
)
from fake_anthropic import FakeAnthropic, ToolCall, Turn, last_tool_result


async def read_events(response: httpx2.Response) -> list[tuple[float, SseEvent]]:
    """Each event with the time it arrived."""
    timed, buffer = [], ""
    async for chunk in response.aiter_text():
        buffer += chunk
        while "\n\n" in buffer:
            frame, buffer = buffer.split("\n\n", 1)
            timed += [(time.monotonic(), event) for event in parse_sse(frame + "\n\n")]
    return timed


async def test_the_stream_arrives_live_through_uvicorn(
    live_server: tuple[str, Starlette], fake: FakeAnthropic
) -> None:
    base_url, app = live_server
    token = seed(services_of(app))
    fake.push(
        Turn(text="Let me check.", tools=[ToolCall("daily-breakdown", {"period": "7d"})]),
        lambda request: Turn(text=["Visitors: ", last_tool_result(request)[:20]], delay=0.6),
    )
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(base_url=base_url, headers=headers) as http,
        http.stream("POST", "/api/v1/chat", json={"message": "Visitors per day?"}) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert response.headers["cache-control"].startswith("no-cache")
        timed = await read_events(response)

    events = [event for _, event in timed]
    assert [e.name for e in events] == [
        "conversation",
        "text",
        "tool_call",
        "tool_result",
        "text",
        "text",
        "done",
    ]
    daily = events[3].data["data"]
    assert len(daily["rows"]) == 7 and sum(p["visitors"] for p in daily["rows"]) >= 4
    # The tool result was delivered before the (delayed) answer was even written: streamed, not buffered.
    arrived = {event.name: at for at, event in timed}
    assert arrived["done"] - arrived["tool_result"] >= 0.4
    assert request_rows(app)[0]["status"] == "success"


async def test_a_client_that_leaves_cancels_the_answer(
    live_server: tuple[str, Starlette], fake: FakeAnthropic
) -> None:
    base_url, app = live_server
    token = seed(services_of(app))
    fake.push(Turn(text="Too late.", delay=1.5))
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(base_url=base_url, headers=headers) as http,
        http.stream("POST", "/api/v1/chat", json={"message": "Hello?"}) as response,
    ):
        async for chunk in response.aiter_text():
            assert chunk.startswith("event: conversation")
            break  # leave after the first event
    for _ in range(100):
        rows = request_rows(app)
        if rows and rows[0]["status"] != "running":
            break
        await asyncio.sleep(0.05)
    assert (rows[0]["status"], rows[0]["error_kind"]) == ("error", "cancelled")
