"""Engine and session factory for SQLite (default) and PostgreSQL (production, CI)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

SQLITE_POOL_SIZE = 5


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if url.startswith("sqlite"):
        # SQLite has one writer at a time: connections beyond a few only wait in its busy
        # handler (which polls, with sleeps of up to 100 ms), and overflow connections are
        # a new thread and file open each. A fixed pool queues the rest fairly instead.
        options = dict(kwargs)
        if make_url(url).database not in (None, "", ":memory:"):  # memory: one shared conn
            options = {"pool_size": SQLITE_POOL_SIZE, "max_overflow": 0, **kwargs}
        engine = create_async_engine(url, connect_args={"timeout": 30}, **options)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    # A database that is unreachable (rather than refusing) should fail a request in
    # seconds, not asyncpg's default 60.
    return create_async_engine(url, pool_pre_ping=True, connect_args={"timeout": 10}, **kwargs)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def database_unreachable(exc: BaseException) -> bool:
    """Whether `exc` means "the database can't be reached now" rather than a bad query.

    A refused or timed-out connect comes out of the driver as a bare OSError/TimeoutError
    (asyncpg's connect is not wrapped by SQLAlchemy); a connection dropped mid-statement
    as a DBAPIError that SQLAlchemy flagged as a disconnect (and dropped from the pool).
    """
    if isinstance(exc, OSError | TimeoutError | DisconnectionError):
        return True
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)
    return False
