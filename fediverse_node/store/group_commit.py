"""Group commit: writes that arrive in bursts share one transaction.

Each submitted operation runs in its own SAVEPOINT, so one failing operation
(say, a duplicate key) does not undo the others in its batch. Callers get their
result only after the batch has committed: nothing is reported stored before it is.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from fediverse_node.store.database import Database, SqliteWriterConnection

T = TypeVar("T")
WriteOperation = Callable[[AsyncConnection], Awaitable[T]]
log = logging.getLogger(__name__)


@dataclass
class _Pending(Generic[T]):
    operation: WriteOperation[T]
    future: asyncio.Future[T] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class GroupCommitWriter:
    def __init__(self, database: Database, max_batch: int = 200, max_delay_ms: float = 2.0) -> None:
        self._database = database
        self._max_batch = max_batch
        self._max_delay = max_delay_ms / 1000
        self._queue: asyncio.Queue[_Pending[Any]] | None = None
        self._task: asyncio.Task[None] | None = None
        self.batches_committed = 0

    async def submit(self, operation: WriteOperation[T]) -> T:
        """Run `operation` inside the next batch's transaction; return its result once committed."""
        if self._task is None or self._task.done():
            self._queue = asyncio.Queue()
            self._task = asyncio.create_task(self._run(), name="group-commit-writer")
        pending: _Pending[T] = _Pending(operation)
        assert self._queue is not None
        self._queue.put_nowait(pending)
        return await pending.future

    async def close(self) -> None:
        """Finish what was submitted, then stop."""
        if self._task is None or self._queue is None:
            return
        while not self._queue.empty():
            await asyncio.sleep(0)
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._task = None

    async def _collect(self, queue: asyncio.Queue[_Pending[Any]]) -> list[_Pending[Any]]:
        batch = [await queue.get()]
        deadline = asyncio.get_running_loop().time() + self._max_delay
        while len(batch) < self._max_batch:
            if not queue.empty():
                batch.append(queue.get_nowait())
                continue
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(queue.get(), remaining))
            except TimeoutError:
                break
        return batch

    async def _run(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            batch = await self._collect(queue)
            await self._commit(batch)

    async def _commit(self, batch: list[_Pending[Any]]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            async with self._database.write() as conn:
                for pending in batch:
                    savepoint = await conn.begin_nested()
                    try:
                        outcomes.append((True, await pending.operation(conn)))
                        await savepoint.commit()
                    except Exception as error:  # reported to that caller only
                        await savepoint.rollback()
                        outcomes.append((False, error))
        except Exception as error:
            log.warning("group commit of %d writes failed: %s", len(batch), error)
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(error)
            return
        self.batches_committed += 1
        for pending, (ok, value) in zip(batch, outcomes):
            if pending.future.done():
                continue
            if ok:
                pending.future.set_result(value)
            else:
                pending.future.set_exception(value)


Item = TypeVar("Item")
Result = TypeVar("Result")
BatchFlush = Callable[[AsyncConnection, list[Item]], Awaitable[list[Result]]]
SqliteFlush = Callable[[sqlite3.Connection, list[Item]], list[Result]]


class BatchWriter(Generic[Item, Result]):
    """Group commit for one kind of write: items that arrive together are written by one `flush`
    call (say, one multi-row INSERT) in one transaction; each caller gets its own item's result once
    the transaction has committed. If the batch fails, every caller in it gets the error.

    On an SQLite file, give `sqlite_flush` too: batches are then written by a thread of this writer's
    own on a plain sqlite3 connection, the whole transaction in one call (no event-loop round trip per
    statement, and waiting for another process's write lock does not hold up the loop)."""

    def __init__(self, database: Database, flush: BatchFlush[Item, Result], max_batch: int = 500,
                 max_delay_ms: float = 0.0, sqlite_flush: SqliteFlush[Item, Result] | None = None) -> None:
        self._database = database
        self._flush = flush
        self._sqlite_flush = sqlite_flush if database.sqlite_path is not None else None
        self._max_batch = max_batch
        self._max_delay = max_delay_ms / 1000
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writing = 0  # items of the batch being written now
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._conn: AsyncConnection | None = None  # kept open: no pool checkout and reset per batch
        self._thread: ThreadPoolExecutor | None = None  # the SQLite writer thread, with its connection
        self._sqlite: SqliteWriterConnection | None = None
        self._checkpointer: ThreadPoolExecutor | None = None  # checkpoints, on a connection of their own
        self._checkpoint_conn: SqliteWriterConnection | None = None
        self._checkpoint: asyncio.Future[None] | None = None
        self._last_checkpoint = 0.0
        self.batches_committed = 0
        self.checkpoints = 0

    async def submit(self, item: Item) -> Result:
        if self._task is None or self._task.done():
            self._wakeup = asyncio.Event()
            self._task = asyncio.create_task(self._run(), name="batch-writer")
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        assert self._wakeup is not None
        self._wakeup.set()
        return await future

    async def close(self) -> None:
        """Finish what was submitted, then stop."""
        while self._pending or self._writing:
            await asyncio.sleep(0.001)
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        await self._drop_connection()
        if self._thread is not None:
            self._thread.shutdown(wait=False)
            self._thread = None
        if self._checkpoint is not None:
            await asyncio.gather(self._checkpoint, return_exceptions=True)
            self._checkpoint = None
        if self._checkpointer is not None:
            await asyncio.get_running_loop().run_in_executor(self._checkpointer, self._close_checkpoint_connection)
            self._checkpointer.shutdown(wait=False)
            self._checkpointer = None

    async def _drop_connection(self) -> None:
        if self._conn is not None:
            try:
                await self._conn.close()
            except Exception as error:  # already broken; a new one is opened for the next batch
                log.debug("closing the batch connection failed: %s", error)
            self._conn = None
        if self._sqlite is not None and self._thread is not None:
            try:
                await asyncio.get_running_loop().run_in_executor(self._thread, self._close_sqlite)
            except Exception as error:
                log.debug("closing the SQLite batch connection failed: %s", error)

    async def _run(self) -> None:
        assert self._wakeup is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            # Without a delay, the writes that arrive while one batch commits form the next batch.
            await asyncio.sleep(self._max_delay if len(self._pending) < self._max_batch else 0)
            while self._pending:
                batch, self._pending = self._pending[:self._max_batch], self._pending[self._max_batch:]
                self._writing = len(batch)
                try:
                    await self._write(batch)
                finally:
                    self._writing = 0

    async def _connection(self) -> AsyncConnection:
        if self._conn is None or self._conn.closed:
            conn = await self._database.engine.connect()
            if self._database.is_sqlite:
                # Wait for another process's write lock here, in short async steps, instead of in
                # SQLite's busy handler, which sleeps in steps of up to 100 ms while holding up the batch.
                await conn.exec_driver_sql("PRAGMA busy_timeout=0")
                await conn.commit()
                conn = await conn.execution_options(begin_immediate=True)
            self._conn = conn
        return self._conn

    async def _flush_with_retry(self, items: list[Item]) -> list[Result]:
        deadline = asyncio.get_running_loop().time() + self._database.busy_timeout_seconds
        pause = 0.0002
        while True:
            conn = await self._connection()
            try:
                async with conn.begin():
                    return await self._flush(conn, items)
            except OperationalError as error:
                if "locked" not in str(error) or asyncio.get_running_loop().time() > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.001)

    def _flush_in_thread(self, items: list[Item]) -> list[Result]:
        assert self._sqlite_flush is not None and self._database.sqlite_path is not None
        if self._sqlite is None:
            self._sqlite = SqliteWriterConnection(self._database.sqlite_path, self._database.busy_timeout_seconds,
                                                  self._database.sqlite_synchronous)
        flush = self._sqlite_flush
        try:
            return self._sqlite.transaction(lambda conn: flush(conn, items))
        except BaseException:
            self._close_sqlite()  # a fresh connection for the next batch
            raise

    def _close_sqlite(self) -> None:
        if self._sqlite is not None:
            sqlite, self._sqlite = self._sqlite, None
            sqlite.close()

    async def _flush_batch(self, items: list[Item]) -> list[Result]:
        if self._sqlite_flush is None:
            return await self._flush_with_retry(items)
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-writer")
        results = await asyncio.get_running_loop().run_in_executor(self._thread, self._flush_in_thread, items)
        self._maybe_checkpoint()
        return results

    def _maybe_checkpoint(self) -> None:
        """Start a checkpoint on the checkpoint thread if none is running and the last one is old enough:
        the writer's own connection never checkpoints, so that no batch waits for one."""
        loop = asyncio.get_running_loop()
        if self._checkpoint is not None and not self._checkpoint.done():
            return
        if loop.time() - self._last_checkpoint < self._database.sqlite_checkpoint_seconds:
            return
        self._last_checkpoint = loop.time()
        if self._checkpointer is None:
            self._checkpointer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-checkpoint")
        self._checkpoint = loop.run_in_executor(self._checkpointer, self._checkpoint_in_thread)
        self._checkpoint.add_done_callback(_log_checkpoint_failure)

    def _checkpoint_in_thread(self) -> None:
        assert self._database.sqlite_path is not None
        if self._checkpoint_conn is None:
            self._checkpoint_conn = SqliteWriterConnection(self._database.sqlite_path, 0,
                                                           self._database.sqlite_synchronous)
        try:
            self._checkpoint_conn.checkpoint()
        except BaseException:
            self._close_checkpoint_connection()
            raise
        self.checkpoints += 1

    def _close_checkpoint_connection(self) -> None:
        if self._checkpoint_conn is not None:
            conn, self._checkpoint_conn = self._checkpoint_conn, None
            conn.close()

    async def _write(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            results = await self._flush_batch([item for item, _ in batch])
        except Exception as error:
            log.warning("batch write of %d items failed: %s", len(batch), error)
            await self._drop_connection()
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        self.batches_committed += 1
        for (_, future), result in zip(batch, results):
            if not future.done():
                future.set_result(result)


def _log_checkpoint_failure(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:  # the next one tries again
        log.warning("SQLite checkpoint failed: %s", future.exception())
