"""A scripted fake of the Anthropic Messages API (`POST /v1/messages`), served by a real uvicorn on
127.0.0.1, for tests that run the real `anthropic` client (chat tests, the dashboard browser test).

    script = [
        Turn(text="Let me look.", tools=[ToolCall("top-pages", {"tenant": "x", "period": "30d"})]),
        lambda request: Turn(text="Your top page is " + last_tool_result(request)[:20]),
    ]
    async with fake_anthropic(script) as fake:
        settings = settings.model_copy(update={"anthropic_api_key": "test-key",
                                               "anthropic_base_url": fake.base_url})
        ...                                  # drive the app; each model call takes the next turn
        fake.requests[1]["messages"]         # what the app sent (tool results included)

Each script entry is a `Turn` or a function of the request body returning one (to answer from the
tool results the app sent). With `repeat=True` the last entry answers every call after the script
ran out (an endless tool loop); otherwise an exhausted script answers 500. Streaming replies use
the exact SSE sequence of the real API: message_start, ping, per block content_block_start /
content_block_delta (text_delta, or input_json_delta chunks for tool_use) / content_block_stop,
message_delta (stop_reason, usage), message_stop. `Turn(status=500)`, `Turn(error_frame=True)`
(an `event: error` frame mid-stream) and `Turn(drop=True)` (the connection closes mid-stream)
fake upstream failures.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from servers import uvicorn_on_loopback

Json = dict[str, Any]
JSON_CHUNK = 12  # tool input is streamed in pieces this long, as the real API does
_ids = itertools.count(1)


@dataclass
class ToolCall:
    name: str
    input: Json = field(default_factory=dict)
    id: str = field(default_factory=lambda: f"toolu_fake_{next(_ids):04d}")


@dataclass
class Turn:
    """One reply of the fake model: text (one delta per list item), then tool_use blocks."""

    text: str | list[str] = ""
    tools: list[ToolCall] = field(default_factory=list)
    stop_reason: str | None = None  # default: tool_use with tools, else end_turn
    input_tokens: int = 25
    output_tokens: int = 10
    status: int = 200  # not 200: a JSON error body instead of a message
    retryable: bool = False  # False: `x-should-retry: false`, so the SDK does not retry the error
    error_frame: bool = False  # stream an `event: error` frame after message_start
    drop: bool = False  # close the connection after message_start
    delay: float = 0.0  # seconds before answering

    def chunks(self) -> list[str]:
        return [self.text] if isinstance(self.text, str) and self.text else list(self.text or [])

    def stop(self) -> str:
        return self.stop_reason or ("tool_use" if self.tools else "end_turn")


Entry = Turn | Callable[[Json], Turn]


class FakeDropped(Exception):
    """Raised inside the streaming body so uvicorn aborts the response mid-stream."""


def last_tool_result(request: Json) -> str:
    """The content of the last tool_result the app sent (what a model would read)."""
    for message in reversed(request.get("messages", [])):
        content = message.get("content")
        if message.get("role") != "user" or not isinstance(content, list):
            continue
        for block in reversed(content):
            if block.get("type") == "tool_result":
                inner = block.get("content")
                if isinstance(inner, list):
                    return "".join(part.get("text", "") for part in inner)
                return str(inner or "")
    return ""


def frame(kind: str, data: Json) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()


def _message(turn: Turn, model: str, content: list[Json], stop: str | None, output_tokens: int) -> Json:
    usage = {"input_tokens": turn.input_tokens, "output_tokens": output_tokens}
    return {
        "id": f"msg_fake_{next(_ids):04d}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": usage,
    }


def _blocks(turn: Turn) -> list[Json]:
    text = [{"type": "text", "text": "".join(turn.chunks())}] if turn.chunks() else []
    tools = [{"type": "tool_use", "id": t.id, "name": t.name, "input": t.input} for t in turn.tools]
    return text + tools


def sse_frames(turn: Turn, model: str) -> list[bytes]:
    """The streamed reply, frame by frame (before any failure the turn asks for)."""
    frames = [frame("message_start", {"message": _message(turn, model, [], None, 1)}), frame("ping", {})]
    index = 0
    if turn.chunks():
        frames.append(
            frame("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
        )
        for chunk in turn.chunks():
            frames.append(
                frame("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": chunk}})
            )
        frames.append(frame("content_block_stop", {"index": 0}))
        index = 1
    for offset, call in enumerate(turn.tools):
        at = index + offset
        start = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
        frames.append(frame("content_block_start", {"index": at, "content_block": start}))
        raw = json.dumps(call.input)
        for pos in range(0, len(raw), JSON_CHUNK):
            delta = {"type": "input_json_delta", "partial_json": raw[pos : pos + JSON_CHUNK]}
            frames.append(frame("content_block_delta", {"index": at, "delta": delta}))
        frames.append(frame("content_block_stop", {"index": at}))
    delta = {"delta": {"stop_reason": turn.stop(), "stop_sequence": None}}
    frames.append(frame("message_delta", {**delta, "usage": {"output_tokens": turn.output_tokens}}))
    frames.append(frame("message_stop", {}))
    return frames


class FakeAnthropic:
    """The fake's state: the script, every request body and its headers, and the ASGI app."""

    def __init__(self, script: Iterable[Entry] = (), *, repeat: bool = False) -> None:
        self.script: list[Entry] = list(script)
        self.repeat = repeat
        self.requests: list[Json] = []
        self.headers: list[dict[str, str]] = []
        self.peers: list[tuple[str, int] | None] = []  # each request's client address: its connection
        self.base_url = ""
        self.app = Starlette(routes=[Route("/v1/messages", self.messages, methods=["POST"])])

    def push(self, *entries: Entry) -> None:
        """Add turns to the script (e.g. between two chat requests of one test)."""
        self.script.extend(entries)

    def _next(self, body: Json) -> Turn | None:
        if not self.script:
            return None
        entry = self.script[0] if self.repeat and len(self.script) == 1 else self.script.pop(0)
        return entry(body) if callable(entry) else entry

    async def messages(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        self.peers.append((request.client.host, request.client.port) if request.client else None)
        turn = self._next(body)
        if turn is None:
            return _error(500, "api_error", "fake_anthropic: script exhausted")
        if turn.delay:
            await asyncio.sleep(turn.delay)
        if turn.status != 200:
            return _error(turn.status, "api_error", "fake upstream failure", retry=turn.retryable)
        model = str(body.get("model", "fake-model"))
        if not body.get("stream"):
            return JSONResponse(_message(turn, model, _blocks(turn), turn.stop(), turn.output_tokens))
        return StreamingResponse(self._stream(turn, model), media_type="text/event-stream")

    async def _stream(self, turn: Turn, model: str) -> AsyncIterator[bytes]:
        frames = sse_frames(turn, model)
        if turn.error_frame or turn.drop:
            yield frames[0]
            if turn.drop:
                raise FakeDropped("connection dropped by the script")
            yield frame("error", {"error": {"type": "overloaded_error", "message": "Overloaded"}})
            return
        for item in frames:
            yield item


def _error(status: int, kind: str, message: str, *, retry: bool = False) -> Response:
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return JSONResponse(body, status_code=status, headers={"x-should-retry": str(retry).lower()})


@asynccontextmanager
async def fake_anthropic(
    script: Iterable[Entry] = (), *, repeat: bool = False
) -> AsyncIterator[FakeAnthropic]:
    """Serve a FakeAnthropic on 127.0.0.1 (real uvicorn) for the block; `.base_url` is its URL."""
    fake = FakeAnthropic(script, repeat=repeat)
    # critical: a scripted `drop` makes uvicorn log the aborted response as an error.
    async with uvicorn_on_loopback(fake.app, log_level="critical") as base:
        fake.base_url = base
        yield fake
