"""Alembic migrations, run programmatically (no alembic.ini needed)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


@cache
def head_revisions() -> tuple[str, ...]:
    """The migrations' head, read once per process."""
    return tuple(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())


def at_head(engine: Engine) -> bool:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads()) == set(head_revisions())


def upgrade(engine: Engine, revision: str = "head") -> None:
    # A database already at head is the common case (every start of a server, CLI command or test
    # app): one SELECT, where alembic's upgrade loads every migration file to find nothing to run.
    if revision == "head" and at_head(engine):
        return
    command.upgrade(alembic_config(engine), revision)
