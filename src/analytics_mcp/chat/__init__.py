"""The in-dashboard AI chat: an Anthropic Messages tool-use loop over the same 18 MCP tools, called
in-process through the app's MCP server and pinned to the caller's tenant.

- `sse`: the event contract and the streaming response; `loop`: the model/tool loop;
  `toolbox`: the pinned tools; `prompt`: the system prompt; `store`: conversations;
  `usage`: the request log and AI credits; `runner`: one request from start to log;
  `content_logs`: the loggers the app quiets at start-up, which would log message content.
- The route is `http_api.chat` (`POST /api/v1/chat`, `GET /api/v1/chat/status`).
"""

from __future__ import annotations

from analytics_mcp.chat.content_logs import quiet_content_loggers
from analytics_mcp.chat.models import Actor, Limits
from analytics_mcp.chat.runner import ChatDeps, ChatJob, run_chat

__all__ = ["Actor", "ChatDeps", "ChatJob", "Limits", "quiet_content_loggers", "run_chat"]
