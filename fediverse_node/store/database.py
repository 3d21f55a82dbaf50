"""Engine creation for SQLite (WAL, busy timeout, foreign keys) and PostgreSQL, with clear start-up errors."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from fediverse_node.config import Settings


class DatabaseUnavailable(Exception):
    """The database cannot be opened or reached; the message says why, in one line."""


class Database:
    """One engine per process. `read()` for queries, `write()` for a write transaction."""

    def __init__(self, engine: AsyncEngine, is_sqlite: bool, busy_timeout_seconds: float = 5.0) -> None:
        self.engine = engine
        self.is_sqlite = is_sqlite
        self.busy_timeout_seconds = busy_timeout_seconds

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that commits on success. SQLite takes the write lock up front
        (BEGIN IMMEDIATE) so two writers wait on the busy timeout instead of deadlocking."""
        async with self.engine.connect() as conn:
            if self.is_sqlite:
                conn = await conn.execution_options(begin_immediate=True)
            async with conn.begin():
                yield conn

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_path(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _check_sqlite_path(path: Path) -> None:
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatabaseUnavailable(f"database: cannot create folder {folder}: {error.strerror}") from None
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise DatabaseUnavailable(f"database: {path} is not readable and writable by this user")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DatabaseUnavailable(f"database: folder {folder} is not writable by this user")


def _install_sqlite_pragmas(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (see _on_begin); the driver's own is always DEFERRED.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("begin_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_database(settings: Settings) -> Database:
    url = settings.database_url
    db = settings.database
    if url.startswith("sqlite"):
        path = _sqlite_path(url)
        if path is not None:
            _check_sqlite_path(path)
        engine = create_async_engine(url, pool_size=db.pool_size, max_overflow=db.pool_size,
                                     connect_args={"timeout": db.sqlite_busy_timeout_ms / 1000})
        _install_sqlite_pragmas(engine, db.sqlite_busy_timeout_ms)
        return Database(engine, is_sqlite=True, busy_timeout_seconds=db.sqlite_busy_timeout_ms / 1000)
    engine = create_async_engine(url, pool_size=db.pool_size, max_overflow=db.pool_size,
                                 pool_pre_ping=True, connect_args={"timeout": db.connect_timeout})
    return Database(engine, is_sqlite=False)


def describe_connection_error(url: str, error: BaseException) -> str:
    parsed = make_url(url)
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"
    if parsed.drivername.startswith("sqlite"):
        where = parsed.database or "(memory)"
    reason = error
    if isinstance(error, DBAPIError) and error.orig is not None:
        reason = error.orig
    text = str(reason).strip().splitlines()[0] if str(reason).strip() else type(reason).__name__
    if isinstance(reason, (ConnectionRefusedError,)) or getattr(reason, "errno", None) == errno.ECONNREFUSED:
        text = "connection refused (is the server running?)"
    elif isinstance(reason, (socket.gaierror,)):
        text = "host name not found"
    elif isinstance(reason, (asyncio.TimeoutError, TimeoutError)):
        text = "timed out"
    return f"database: cannot open {where}: {text}"


async def check_connection(database: Database, url: str) -> None:
    """Open one connection now so a down server or unwritable file fails at start-up, clearly."""
    try:
        async with database.read() as conn:
            await conn.exec_driver_sql("SELECT 1")
    except (OperationalError, DBAPIError, OSError, asyncio.TimeoutError) as error:
        raise DatabaseUnavailable(describe_connection_error(url, error)) from None
    except Exception as error:  # asyncpg raises its own classes before SQLAlchemy wraps them
        if type(error).__module__.startswith("asyncpg"):
            raise DatabaseUnavailable(describe_connection_error(url, error)) from None
        raise
