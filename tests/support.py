"""Shared test plumbing: databases (SQLite, and PostgreSQL when TEST_DATABASE_URL is set),
settings, and a running calbot with the Cronofy sandbox on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.settings import Settings, load_settings
from integrations.console.chat import ConsoleChat
from integrations.console.session import ConsoleSession
from integrations.runtime import Runtime, build_runtime
from storage.crypto import generate_key
from storage.migrate import upgrade

TEST_KEY = generate_key()
PG_URL = os.environ.get("TEST_DATABASE_URL", "")

_sqlite_template: Path | None = None
_pg_database: str | None = None


def free_port() -> int:
    """A port free now, for a server in another process; in this process use
    `bound_socket()` — between picking a port and binding it, an outgoing
    connection may take it as its ephemeral port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bound_socket() -> socket.socket:
    """A listening-ready socket on a free loopback port, held until the server takes it."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


async def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite database: migrated once per session, copied per test."""
    global _sqlite_template
    if _sqlite_template is None:
        template = (
            Path(os.environ.get("PYTEST_TMPDIR", "/tmp")) / f"calbot-tpl-{uuid.uuid4().hex}.db"
        )
        await asyncio.to_thread(upgrade, f"sqlite+aiosqlite:///{template}")
        _sqlite_template = template
    target = tmp_path / "calbot.db"
    shutil.copy(_sqlite_template, target)
    return f"sqlite+aiosqlite:///{target}"


async def postgres_url() -> str:
    """A migrated PostgreSQL database for this session, emptied before each test."""
    global _pg_database
    import asyncpg

    base = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
    if _pg_database is None:
        name = f"calbot_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        conn = await asyncpg.connect(base)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        _pg_database = name
        await asyncio.to_thread(upgrade, _swap_db(PG_URL, name))
    url = _swap_db(PG_URL, _pg_database)
    conn = await asyncpg.connect(_swap_db(base, _pg_database))
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables "
            "WHERE schemaname='public' AND tablename <> 'alembic_version'"
        )
        if tables:
            names = ", ".join(f'"{t["tablename"]}"' for t in tables)
            await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()
    return url


def _swap_db(url: str, name: str) -> str:
    head, _, _ = url.rpartition("/")
    return f"{head}/{name}"


async def database_url(tmp_path: Path) -> str:
    return await postgres_url() if PG_URL else await sqlite_url(tmp_path)


def make_settings(db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": db_url,
        "TOKEN_ENCRYPTION_KEY": TEST_KEY,
        "PUBLIC_BASE_URL": "http://127.0.0.1:3000",
        "_env_file": None,
    }
    values.update(overrides)
    return load_settings(**values)


@dataclass
class RunningCalbot:
    runtime: Runtime
    url: str
    console: ConsoleChat

    @property
    def sandbox_url(self) -> str:
        return str(self.runtime.sandbox.url)

    def session(self, user: str = "alice") -> ConsoleSession:
        return ConsoleSession(self.runtime.bot, self.console, user=user)

    async def settle(self) -> None:
        await self.runtime.health.settle()
        await self.runtime.outbox.drain()

    async def connect_calendar(self, user: str) -> None:
        """`user` connects at the console the whole way: command, DM, link, sign-in."""
        session = self.session(user)
        await session.say("/calendar connect")
        await self.settle()
        url = session.last_dm().message.buttons()[0].url
        assert url
        await session.follow_connect_link(url, sandbox_url=self.sandbox_url)
        await self.settle()


@asynccontextmanager
async def running_calbot(
    db_url: str,
    *,
    chats: dict[str, Any] | None = None,
    clock: Any = None,
    **overrides: Any,
) -> AsyncIterator[RunningCalbot]:
    """calbot's whole HTTP app on a real port, with the sandbox and a console chat."""
    sock = bound_socket()
    port = int(sock.getsockname()[1])
    url = f"http://127.0.0.1:{port}"
    settings = make_settings(db_url, PUBLIC_BASE_URL=url, PORT=port, **overrides)
    console = ConsoleChat()
    runtime = await build_runtime(
        settings, chats={"console": console, **(chats or {})}, clock=clock
    )
    runner = web.AppRunner(runtime.web, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        yield RunningCalbot(runtime=runtime, url=url, console=console)
    finally:
        await runner.cleanup()
        await runtime.close()
