"""Settings for an in-process app under the reliability suite: in-thread writer, no practical
rate limit, the ASGI test host and loopback allowed for MCP, and an AI chat that is configured
(so every check before the model runs) with a model URL where nothing listens."""

from __future__ import annotations

from pathlib import Path

from analytics_mcp.config import Settings


def reliability_settings(data_dir: Path, model_url: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        data_dir=data_dir,
        secret_key="test-secret",
        ingest_process=False,
        rate_limit="1000000/minute",
        allowed_hosts=["testserver", "127.0.0.1:*"],
        allowed_origins=["http://testserver", "http://127.0.0.1:*"],
        anthropic_api_key="sk-test-unused",
        anthropic_base_url=model_url,
        _env_file=None,
    )
