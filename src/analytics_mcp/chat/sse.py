"""The chat's Server-Sent Events: the pinned event contract and the response that streams them.

    event: conversation   {"conversation_id": "..."}                              (always first)
    event: text           {"delta": "..."}
    event: tool_call      {"id": "...", "name": "top-pages", "arguments": {...}}
    event: tool_result    {"id": "...", "name": "...", "is_error": false, "data": {...}}
                          (a failed call: "is_error": true, "data": {"message": "..."})
    event: done           {"usage": {"input_tokens": N, "output_tokens": N}, "tool_calls": N}
    event: error          {"message": "..."}                                       (instead of done)

`EventStreamResponse` runs the producer inside the response's own ASGI call, in one task: the
tenant pin (a contextvar), the MCP client and the model stream all live in plain `async with`
blocks, and a client that disconnects cancels the producer instead of leaving it to the GC.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from analytics_mcp.chat.models import ClientGone, Json


@dataclass(frozen=True, slots=True)
class Event:
    name: str
    data: Json

    def encode(self) -> bytes:
        return b"event: " + self.name.encode() + b"\ndata: " + orjson.dumps(self.data) + b"\n\n"


Emit = Callable[[Event], Awaitable[None]]
Producer = Callable[[Emit], Awaitable[None]]


def conversation(conversation_id: str) -> Event:
    return Event("conversation", {"conversation_id": conversation_id})


def text(delta: str) -> Event:
    return Event("text", {"delta": delta})


def tool_call(call_id: str, name: str, arguments: Json) -> Event:
    return Event("tool_call", {"id": call_id, "name": name, "arguments": arguments})


def tool_result(call_id: str, name: str, data: Json | None, error: str | None = None) -> Event:
    if error is not None:
        data = {"message": error}
    return Event("tool_result", {"id": call_id, "name": name, "is_error": error is not None, "data": data})


def done(usage: Json, tool_calls: int) -> Event:
    return Event("done", {"usage": usage, "tool_calls": tool_calls})


def error(message: str) -> Event:
    return Event("error", {"message": message})


SSE_HEADERS = {
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",  # nginx: pass each event through at once
}


class EventStreamResponse(Response):
    """A text/event-stream response whose body is whatever `producer(emit)` emits."""

    media_type = "text/event-stream"

    def __init__(self, producer: Producer, headers: dict[str, str] | None = None) -> None:
        self.producer = producer
        self.status_code = 200
        self.background = None
        self.init_headers({**SSE_HEADERS, **(headers or {})})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def emit(event: Event) -> None:
            try:
                await send({"type": "http.response.body", "body": event.encode(), "more_body": True})
            except OSError as exc:  # ASGI 2.4 servers report a gone client this way
                raise ClientGone from exc

        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        async with anyio.create_task_group() as group:
            group.start_soon(_cancel_on_disconnect, receive, group.cancel_scope)
            await self.producer(emit)
            group.cancel_scope.cancel()
        with contextlib.suppress(OSError):  # the client is gone already
            await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _cancel_on_disconnect(receive: Receive, scope: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()
