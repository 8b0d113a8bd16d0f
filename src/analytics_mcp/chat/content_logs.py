"""Loggers that write message content at DEBUG: the Anthropic SDK logs whole request bodies (the
question), aiosqlite every statement with its parameters (the stored conversation). The app keeps
them at INFO or quieter when it starts, even with the root logger at DEBUG, unless an operator set
their level explicitly (e.g. ANTHROPIC_LOG=debug)."""

from __future__ import annotations

import logging

CONTENT_LOGGERS = {"anthropic": logging.WARNING, "aiosqlite": logging.INFO}


def quiet_content_loggers() -> None:
    """Give each content logger its quiet level, unless its level was set already."""
    for name, level in CONTENT_LOGGERS.items():
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(level)
