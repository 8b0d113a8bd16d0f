"""The Anthropic Messages tool-use loop (stable API, streamed): ask the model, forward its text,
run the tools it asks for (pinned, through the toolbox), send the results back, until it answers.

Bounded: at most `max_tool_calls` tool calls per request (a model that keeps asking ends with a
`ToolLimitError`), each result cut to `max_result_chars` for the model. Any failure of the model
API (status error, an `event: error` frame, a dropped connection, a timeout) is an UpstreamError
whose message says nothing about the key, the URL or the provider's answer.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import httpx2

from analytics_mcp.chat import sse
from analytics_mcp.chat.models import Json, Limits, Stats, ToolLimitError, UpstreamError
from analytics_mcp.chat.sse import Emit
from analytics_mcp.chat.toolbox import Toolbox

if TYPE_CHECKING:
    import anthropic

log = logging.getLogger("analytics_mcp.chat")


def upstream_errors() -> tuple[type[Exception], ...]:
    """The model API's failures. `anthropic` is imported when a chat first needs it: importing it
    is 1.2 s of CPU, which every server and CLI process paid at start-up."""
    import anthropic

    return (anthropic.AnthropicError, httpx2.HTTPError, httpx2.StreamError)


NO_ANSWER = "(no answer)"


def user_text(question: str) -> Json:
    return {"role": "user", "content": [{"type": "text", "text": question}]}


def assistant_blocks(content: list[Any]) -> list[Json]:
    """The reply's text and tool_use blocks as plain JSON (what we store and send back)."""
    blocks: list[Json] = []
    for block in content:
        if block.type == "text" and block.text:
            blocks.append({"type": "text", "text": block.text})
        elif block.type == "tool_use":
            blocks.append({"type": "tool_use", "id": block.id, "name": block.name, "input": block.input})
    return blocks


def tool_limit_error(limit: int) -> ToolLimitError:
    return ToolLimitError(
        f"The assistant needed more than {limit} tool calls for this question and was stopped. "
        "Try a narrower question (one site, one period, one metric)."
    )


class ToolLoop:
    def __init__(
        self,
        llm: anthropic.AsyncAnthropic,
        toolbox: Toolbox,
        *,
        model: str,
        system: str,
        limits: Limits,
        stats: Stats | None = None,  # pass one in to see the totals of a request that failed
    ) -> None:
        self.llm, self.toolbox, self.model, self.system, self.limits = llm, toolbox, model, system, limits
        self.stats = stats if stats is not None else Stats()

    async def run(self, history: list[Json], question: str, emit: Emit) -> list[Json]:
        """The messages this request adds to the conversation (question first, answer last)."""
        turn = [user_text(question)]
        while True:
            message = await self._ask([*history, *turn], emit)
            if message.stop_reason is None:  # the stream ended without message_delta
                raise UpstreamError()
            blocks = assistant_blocks(message.content)
            uses = [block for block in blocks if block["type"] == "tool_use"]
            if message.stop_reason != "tool_use" or not uses:
                # The answer. A tool_use cut off by max_tokens is dropped: stored without its
                # tool_result it would make the resumed conversation invalid for the API.
                text = [block for block in blocks if block["type"] == "text"]
                turn.append({"role": "assistant", "content": text or [{"type": "text", "text": NO_ANSWER}]})
                return turn
            turn.append({"role": "assistant", "content": blocks})
            if len(self.stats.tools) + len(uses) > self.limits.max_tool_calls:
                raise tool_limit_error(self.limits.max_tool_calls)
            turn.append({"role": "user", "content": [await self._call(use, emit) for use in uses]})

    async def _ask(self, messages: list[Json], emit: Emit) -> Any:
        try:
            async with self.llm.messages.stream(
                model=self.model,
                max_tokens=self.limits.max_tokens,
                system=[{"type": "text", "text": self.system, "cache_control": {"type": "ephemeral"}}],
                # Plain JSON (tool definitions, the stored conversation) in the shapes of the SDK's
                # ToolParam / MessageParam TypedDicts, which a dict[str, Any] does not prove.
                tools=self.toolbox.definitions,  # type: ignore[arg-type]
                messages=messages,  # type: ignore[arg-type]
            ) as stream:
                async for event in stream:
                    if event.type == "text" and event.text:
                        await emit(sse.text(event.text))
                message = await stream.get_final_message()
        except upstream_errors() as exc:
            # Status and class only: the provider's message may quote the request.
            status = getattr(exc, "status_code", None)
            log.warning("chat model call failed: %s status=%s", type(exc).__name__, status)
            raise UpstreamError() from exc
        self.stats.add_usage(message.usage)
        return message

    async def _call(self, use: Json, emit: Emit) -> Json:
        """Run one tool_use block; the block's input is replaced by what really ran."""
        outcome = await self.toolbox.call(use["name"], use["input"])
        use["input"] = outcome.arguments
        self.stats.tools.append(use["name"])
        await emit(sse.tool_call(use["id"], use["name"], outcome.arguments))
        await emit(sse.tool_result(use["id"], use["name"], outcome.data, outcome.error))
        result: Json = {"type": "tool_result", "tool_use_id": use["id"], "content": outcome.text}
        if outcome.error is not None:
            result["is_error"] = True
        return result
