"""The in-dashboard AI chat: an Anthropic Messages tool-use loop over the same 12 MCP tools, called
in-process through the app's MCP server and pinned to the caller's tenant.

- `sse`: the event contract and the streaming response; `loop`: the model/tool loop;
  `toolbox`: the pinned tools; `prompt`: the system prompt; `store`: conversations;
  `usage`: the request log and AI credits; `runner`: one request from start to log.
- The route is `http_api.chat` (`POST /api/v1/chat`, `GET /api/v1/chat/status`).
"""

from __future__ import annotations

import logging

from analytics_mcp.chat.models import Actor, Limits
from analytics_mcp.chat.runner import ChatDeps, ChatJob, run_chat

# Loggers that write message content at DEBUG: the SDK logs whole request bodies (the question),
# aiosqlite every statement with its parameters (the stored conversation). Keep them at INFO or
# quieter even when the root logger is at DEBUG, unless an operator set their level explicitly
# (e.g. ANTHROPIC_LOG=debug).
CONTENT_LOGGERS = {"anthropic": logging.WARNING, "aiosqlite": logging.INFO}
for _name, _level in CONTENT_LOGGERS.items():
    if logging.getLogger(_name).level == logging.NOTSET:
        logging.getLogger(_name).setLevel(_level)

__all__ = ["Actor", "ChatDeps", "ChatJob", "Limits", "run_chat"]
