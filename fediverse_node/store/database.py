"""Engine creation for SQLite (WAL, busy timeout, foreign keys) and PostgreSQL, with clear start-up errors."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from fediverse_node.config import Settings


class DatabaseUnavailable(Exception):
    """The database cannot be opened or reached; the message says why, in one line."""


class Database:
    """One engine per process. `read()` for queries, `write()` for a write transaction."""

    def __init__(self, engine: AsyncEngine, is_sqlite: bool, busy_timeout_seconds: float = 5.0,
                 sqlite_path: Path | None = None, sqlite_synchronous: str = "normal",
                 sqlite_checkpoint_seconds: float = 0.5) -> None:
        self.engine = engine
        self.is_sqlite = is_sqlite
        self.busy_timeout_seconds = busy_timeout_seconds
        self.sqlite_path = sqlite_path  # the database file; None for PostgreSQL and in-memory SQLite
        self.sqlite_synchronous = sqlite_synchronous
        self.sqlite_checkpoint_seconds = sqlite_checkpoint_seconds  # batch writers checkpoint this often

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


def _sqlite_pragmas(busy_timeout_ms: int, synchronous: str) -> tuple[str, ...]:
    # synchronous=NORMAL in WAL mode: a commit survives a crash of the process (kill -9) but the last
    # commits may be lost on power failure; FULL also syncs the log on every commit.
    return ("PRAGMA journal_mode=WAL", f"PRAGMA busy_timeout={int(busy_timeout_ms)}", "PRAGMA foreign_keys=ON",
            f"PRAGMA synchronous={_SYNCHRONOUS[synchronous]}")


_SYNCHRONOUS = {"normal": "NORMAL", "full": "FULL"}


def _install_sqlite_pragmas(engine: AsyncEngine, busy_timeout_ms: int, synchronous: str) -> None:
    pragmas = _sqlite_pragmas(busy_timeout_ms, synchronous)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (see _on_begin); the driver's own is always DEFERRED.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("begin_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class SqliteWriterConnection:
    """A plain sqlite3 connection for a writer thread: a whole batch (BEGIN IMMEDIATE, its statements,
    COMMIT) runs in one call off the event loop, and waiting for another process's write lock is done
    here in short sleeps instead of SQLite's busy handler, which sleeps in steps of up to 100 ms.

    Its commits do not checkpoint (`wal_autocheckpoint=0`): SQLite's automatic checkpoint runs inside
    the COMMIT that crosses 1000 log pages and holds that batch (and every request waiting on it) for
    the 10-20 ms of copying and syncing. The writer calls `checkpoint` from another thread instead."""

    # A batch holds the lock for well under a millisecond: look again soon (a try costs microseconds).
    FIRST_PAUSE = 0.00005
    LONGEST_PAUSE = 0.00025

    def __init__(self, path: Path, busy_timeout_seconds: float, synchronous: str) -> None:
        self._busy_timeout = busy_timeout_seconds
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0)
        for pragma in _sqlite_pragmas(0, synchronous):
            self.conn.execute(pragma)
        self.conn.execute("PRAGMA wal_autocheckpoint=0")

    def checkpoint(self) -> tuple[int, int, int]:
        """Copy the log into the database file without waiting for or blocking writers (PASSIVE), then,
        if no writer holds the lock just now, copy the last few pages and have the next writer start the
        log from its beginning (RESTART, which takes the write lock for that moment and gives up at once
        if it is taken). Under a steady stream of writes a PASSIVE checkpoint is always a little behind,
        so without the restart the log file would only ever grow. Returns (busy, pages in the log,
        pages copied) of the last step."""
        result = self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if result[0] == 0 and result[1] > 0:
            result = self.conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        return result

    def transaction(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run `work` in one write transaction and commit it; roll back and raise if it fails."""
        self._begin_immediate()
        try:
            result = work(self.conn)
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        return result

    def _begin_immediate(self) -> None:
        deadline = time.monotonic() + self._busy_timeout
        pause = self.FIRST_PAUSE
        while True:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error) or time.monotonic() > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, self.LONGEST_PAUSE)

    def close(self) -> None:
        self.conn.close()


class SqliteRows:
    """Rows for one table written through a SqliteWriterConnection: the INSERT text for a given number
    of rows (cached) and each row's values bound exactly as SQLAlchemy binds them (timestamps and all),
    so rows written here read back through the engine like any others."""

    def __init__(self, table: Table, columns: Sequence[str], conflict_column: str | None = None,
                 returning: Sequence[str] = ()) -> None:
        dialect = sqlite_dialect.dialect()
        self._columns = tuple(columns)
        self._processors = tuple(table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                                 for name in self._columns)
        self._head = f"INSERT INTO {table.name} ({', '.join(self._columns)}) VALUES "
        self._row = "(" + ", ".join("?" for _ in self._columns) + ")"
        self._tail = (f" ON CONFLICT ({conflict_column}) DO NOTHING" if conflict_column else "") + (
            f" RETURNING {', '.join(returning)}" if returning else "")
        self._statements: dict[int, str] = {}

    def bind(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(value if process is None else process(value)
                     for value, process in zip((values[name] for name in self._columns), self._processors))

    def statement(self, rows: int = 1) -> str:
        """INSERT ... VALUES (?, ...) repeated `rows` times (one statement, one round of parameters)."""
        text = self._statements.get(rows)
        if text is None:
            text = self._statements[rows] = self._head + ", ".join([self._row] * rows) + self._tail
        return text

    def insert_many(self, conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Already bound rows in as few multi-row INSERTs as SQLite's parameter limit allows; the
        RETURNING rows, if any. Each statement has a power-of-two number of rows, so only a handful of
        statement texts are ever built and prepared (13 rows: 8 + 4 + 1)."""
        most = max(1, conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(self._columns))
        returned: list[Any] = []
        start = 0
        while start < len(rows):
            size = 1 << (min(len(rows) - start, most).bit_length() - 1)
            chunk = rows[start:start + size]
            returned += conn.execute(self.statement(size), [value for row in chunk for value in row]).fetchall()
            start += size
        return returned


def create_database(settings: Settings) -> Database:
    url = settings.database_url
    db = settings.database
    if url.startswith("sqlite"):
        path = _sqlite_path(url)
        if path is not None:
            _check_sqlite_path(path)
        engine = create_async_engine(url, pool_size=db.pool_size, max_overflow=db.pool_size,
                                     connect_args={"timeout": db.sqlite_busy_timeout_ms / 1000})
        _install_sqlite_pragmas(engine, db.sqlite_busy_timeout_ms, db.sqlite_synchronous)
        return Database(engine, is_sqlite=True, busy_timeout_seconds=db.sqlite_busy_timeout_ms / 1000,
                        sqlite_path=path, sqlite_synchronous=db.sqlite_synchronous,
                        sqlite_checkpoint_seconds=db.sqlite_checkpoint_ms / 1000)
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
