"""Alembic, driven from Python: `app.py db upgrade` and the start-up migration check."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from storage.db import make_engine

MIGRATIONS = Path(__file__).parent / "migrations"


class NotMigrated(Exception):
    """The database is behind the code's migrations."""


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations (synchronous; alembic's env.py runs them on the async engine)."""
    command.upgrade(alembic_config(url), revision)


async def upgrade_async(url: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, url, revision)


def _current(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


async def current_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_current)
    finally:
        await engine.dispose()


async def ensure_migrated(url: str) -> None:
    current, head = await current_revision(url), head_revision()
    if current != head:
        raise NotMigrated(
            f"the database is at migration {current or 'none'} but the code needs {head}: "
            "run `python app.py db upgrade` first"
        )
